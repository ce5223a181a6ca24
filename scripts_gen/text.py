"""Text normalisation of what viewers write: the canonical form triage classifies and compares.

Full-width characters, zero-width and format characters, obfuscating
combining marks, Cyrillic and Greek look-alikes, traditional Chinese and
spaced-out words are undone (:func:`normalize`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

#: Traditional -> simplified, one character each: the common characters of live-selling
#: chat (prices, goods, shipping, after-sales, insults, prompt attacks).  Derived from
#: OpenCC's t2s character table; characters that are also ordinary simplified characters
#: with another meaning (著, 覆, 藉...) are left out.
_TRAD = (
    "價錢貨運費買賣請問這個為麼嗎說話機貓還換顏號碼質優紅車黃鏈單購訂遞郵達幾塊動區點開關門間時長東誰沒無會"
    "來對樣種過從現實際寶貝親愛歡聽聲學複復讓給帶試適輕裝條雙隻貴賤減滿贈領搶庫補斷後壞損證險責騙滾廢腦殘媽"
    "豬醜爛噁惡罵討厭煩規則設詞統係繫發髮戶網頁圖視頻觀眾衆囉參數寬順豐裡裏連結擊題虛擬詐兒見國經頭兩應該員"
    "與麗覺錯難雖電謝氣熱溫處幫邊襪褲鏡錶鑰線燈鍋壺盤紙膚麵飯餅糧雞魚蝦葉藥醫療專業廠產標準認識選擇類別總計"
    "萬億幣額稅劃賺虧賠償誤傳遲馬趕緊夠舊鮮純綿絲絨鋼鐵銀鑽膠環項鍊臉頸腳體髒淨潔衛廁廚臥樓層牆簾櫃墊蓋嬰爺"
    "歲齡級務態勢確變據聯絡團隊組織報雜誌書筆記錄寫讀講語談論議評讚贊獎勵禮節慶樂戀婦寵鳥龍鳳蟲遊戲歷曆陽陰"
    "風雲颱臺灣華僑進韓義歐亞紐約倫縣鎮鄉場廣園圓張陳劉楊趙吳孫鄭蔣鄧蘇盧羅許嚴顧嗚嘆嚇嗆噸嘍喲們於餘製範衝"
    "鬆幹鐘鍾願徵彙鬥檯穀隨緣滅殺屍槍彈賭蕩騷醬嘗貼螢畫攝閃輸贏勝敗輛輪駕駛訊兌劑護潤濕乾瑩顆濃縮纖維韌謊誠"
    "舉辦漲預憑儲綁轉賬帳構驗櫥籃倉簽攬詢異丟啟嗨"
)
_SIMP = (
    "价钱货运费买卖请问这个为么吗说话机猫还换颜号码质优红车黄链单购订递邮达几块动区点开关门间时长东谁没无会"
    "来对样种过从现实际宝贝亲爱欢听声学复复让给带试适轻装条双只贵贱减满赠领抢库补断后坏损证险责骗滚废脑残妈"
    "猪丑烂恶恶骂讨厌烦规则设词统系系发发户网页图视频观众众啰参数宽顺丰里里连结击题虚拟诈儿见国经头两应该员"
    "与丽觉错难虽电谢气热温处帮边袜裤镜表钥线灯锅壶盘纸肤面饭饼粮鸡鱼虾叶药医疗专业厂产标准认识选择类别总计"
    "万亿币额税划赚亏赔偿误传迟马赶紧够旧鲜纯绵丝绒钢铁银钻胶环项链脸颈脚体脏净洁卫厕厨卧楼层墙帘柜垫盖婴爷"
    "岁龄级务态势确变据联络团队组织报杂志书笔记录写读讲语谈论议评赞赞奖励礼节庆乐恋妇宠鸟龙凤虫游戏历历阳阴"
    "风云台台湾华侨进韩义欧亚纽约伦县镇乡场广园圆张陈刘杨赵吴孙郑蒋邓苏卢罗许严顾呜叹吓呛吨喽哟们于余制范冲"
    "松干钟钟愿征汇斗台谷随缘灭杀尸枪弹赌荡骚酱尝贴萤画摄闪输赢胜败辆轮驾驶讯兑剂护润湿干莹颗浓缩纤维韧谎诚"
    "举办涨预凭储绑转账帐构验橱篮仓签揽询异丢启嗨"
)
assert len(_TRAD) == len(_SIMP), "traditional/simplified tables out of step"

#: Look-alikes of Latin letters (Cyrillic, Greek, a few symbols).  Leetspeak (0/o, 1/l) is
#: deliberately not folded: digits must stay digits for prices.
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ү": "y", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y", "Ӏ": "I",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    # punctuation that NFKC leaves alone
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "。": ".", "、": ",",
    "～": "~", "〜": "~", "•": "·", "・": "·", "⠀": " ",
}  # fmt: skip

#: Invisible or format characters, variation selectors, and the combining-mark blocks used
#: to obfuscate Latin text (zalgo, strike-through).  Kana voicing marks (U+3099) are kept.
_INVISIBLE = [
    *range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xAD, 0x61C, 0x115F, 0x1160,
    0x17B4, 0x17B5, *range(0x180B, 0x1810), *range(0x200B, 0x2010), *range(0x202A, 0x202F),
    *range(0x2060, 0x2070), 0x3164, *range(0xFE00, 0xFE10), 0xFEFF, 0xFFA0, *range(0xFFF9, 0xFFFC),
    *range(0x1D173, 0x1D17B), *range(0xE0000, 0xE0080), *range(0xE0100, 0xE01F0),
    *range(0x0300, 0x0370), *range(0x1AB0, 0x1B00), *range(0x1DC0, 0x1E00), *range(0x20D0, 0x2100),
    *range(0xFE20, 0xFE30),
]  # fmt: skip

_TABLE: dict[int, str | None] = {cp: None for cp in _INVISIBLE}
_TABLE.update({ord(k): v for k, v in _HOMOGLYPHS.items()})
_TABLE.update(zip(map(ord, _TRAD), _SIMP))
_ASCII_TABLE = {cp: v for cp, v in _TABLE.items() if cp < 0x80}

#: Letters spelled out one by one, with wider gaps between the words: "A C T   A S   M Y".
_SPACED_WORDS = re.compile(r"(?<!\S)\S(?: \S)+(?!\S)(?=\s{2,}|$)|(?<=\s\s)\S(?: \S)+(?!\S)")
_REPEATS = re.compile(r"(\D)\1{3,}", re.S)  # digits exempt: 10000 stays 10000


@functools.lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """The canonical form of a comment, for classification and duplicate detection.

    NFKC (full-width -> half-width, math letters, circled letters), invisible/format
    characters and obfuscating combining marks removed, Cyrillic/Greek look-alikes folded to
    Latin, traditional -> simplified Chinese, lowercase, whitespace runs -> one space, and a
    character repeated more than 3 times cut to 3 (``喵喵喵喵喵`` -> ``喵喵喵``; digits exempt).
    """
    if text.isascii():
        text = text.translate(_ASCII_TABLE)
    else:
        # NFKD then NFC == NFKC, with the marks and format characters removed in between.
        text = unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text).translate(_TABLE))
        if "甚" in text:
            text = text.replace("甚么", "什么")
    if "  " in text or "\u3000" in text:
        text = _SPACED_WORDS.sub(lambda m: m.group().replace(" ", ""), text.replace("\u3000", " "))
    text = " ".join(text.lower().split())
    return _REPEATS.sub(r"\1\1\1", text) if len(text) > 3 else text


def find_all(text: str, part: str) -> list[int]:
    """Where ``part`` starts in ``text``, every time (overlapping too)."""
    out, at = [], text.find(part) if part else -1
    while at >= 0:
        out.append(at)
        at = text.find(part, at + 1)
    return out
