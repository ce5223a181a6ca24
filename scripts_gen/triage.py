"""Comment triage: which viewer comments the host answers, greets, ignores or blocks.

Every comment is :func:`normalize`-d (full-width, zero-width, homoglyph and traditional
Chinese tricks undone), :func:`classify`-ed into an :class:`Intent` by precompiled
keyword rules (Chinese and English), and then decided by :class:`Triage`:

=================  ==========================================================  =====
intent             action                                                      value
=================  ==========================================================  =====
INJECTION          BLOCK: never answered, never repeated                         0
ABUSE              BLOCK                                                         0
ARE_YOU_HUMAN      ANSWER (truthfully, later); skips rate limit and flood mode  10
PRICE              ANSWER                                                        6
STOCK              ANSWER                                                        5
HOW_TO_BUY         ANSWER                                                        5
SPEC               ANSWER (IGNORE during a flood)                                4
SHIPPING           ANSWER (IGNORE during a flood)                                4
AFTER_SALES        ANSWER (IGNORE during a flood)                                3
GREETING           GREET: batched, see :meth:`Triage.take_greetings`             1
OFF_TOPIC          IGNORE                                                        0
=================  ==========================================================  =====

``value`` is what answering is worth; it is fixed per intent (no age discount, so the
order is deterministic) and 0 for comments that will not be answered.  The answer queue
serves the most valuable first, the oldest among equals, and drops the least valuable
(then oldest) when full.  When a comment hits several shopping intents the most valuable
wins (``链接在哪，多少钱`` is PRICE).

All memories are bounded (users, recent texts, greetings, flood window), so a 24-hour
stream keeps a flat footprint.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass

from scripts_gen.gate import CN_NUM, DIGITS

__all__ = ["Action", "Comment", "Intent", "Triage", "Triaged", "VALUES", "classify", "normalize"]


# --------------------------------------------------------------------------- normalize

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


# --------------------------------------------------------------------------- intents


class Intent(str, enum.Enum):
    PRICE = "price"
    SPEC = "spec"
    STOCK = "stock"
    SHIPPING = "shipping"
    HOW_TO_BUY = "how_to_buy"
    AFTER_SALES = "after_sales"
    GREETING = "greeting"
    OFF_TOPIC = "off_topic"
    ABUSE = "abuse"
    INJECTION = "injection"
    ARE_YOU_HUMAN = "are_you_human"


class Action(str, enum.Enum):
    ANSWER = "answer"
    GREET = "greet"
    IGNORE = "ignore"
    BLOCK = "block"


#: What answering a comment of each intent is worth (see the module docstring).
VALUES: dict[Intent, float] = {
    Intent.ARE_YOU_HUMAN: 10.0,
    Intent.PRICE: 6.0,
    Intent.STOCK: 5.0,
    Intent.HOW_TO_BUY: 5.0,
    Intent.SPEC: 4.0,
    Intent.SHIPPING: 4.0,
    Intent.AFTER_SALES: 3.0,
    Intent.GREETING: 1.0,
}

#: Answered even during a flood.
FLOOD_KEEP = frozenset({Intent.ARE_YOU_HUMAN, Intent.PRICE, Intent.STOCK, Intent.HOW_TO_BUY})


# --------------------------------------------------------------------------- rules
#
# The rules run on a "scan view" of the normalized text: whitespace next to a CJK character
# and filler between two CJK characters removed (多 少 钱, 多*少*钱 -> 多少钱), letters spelled
# out one by one joined (p r i c e -> price).  English words are bounded by ASCII
# look-arounds, not \b, because a CJK neighbour counts as a word character for \b.

_N = rf"(?:{DIGITS}|{CN_NUM}|几)"  # a number: 59, 一百, 几


def _en(*words: str) -> str:
    return r"(?<![a-z0-9])(?:" + "|".join(words) + r")(?![a-z0-9])"


def _any(*parts: str) -> str:
    return "|".join(parts)


_SCAM_QUESTION = _any(
    r"是不是(?:骗子|骗人|诈骗|假的|假货)",
    r"(?:骗子|骗人的?|诈骗|假货|假的)(?:吗|么|嘛|吧?\?)",
    r"会不会是?骗",
    _en(r"(?:is|are)\s+(?:this|it|that|these|they|you|u|you\s+guys)\s+(?:a\s+)?(?:scam|fraud|fake|legit)", r"scam\s*\?"),
)

_INJECTION = _any(
    # role / rule override
    r"开发者模式|开发模式|调试模式|管理员模式|上帝模式|越狱|猫娘|女仆模式",
    r"(?:忽略|无视|忘记|忘掉|不要管|别管|抛开|绕过)(?:掉|之前|以前|前面|上面|以上|先前|所有|全部|一切|你的|原来|原有|原先|系统|的|和)*"
    r"(?:指令|指示|规则|设定|提示|命令|要求|约束|限制|人设|身份|规定)",
    r"(?:你现在|现在你)(?:就)?是(?!真人|真的|机器|ai|人工|虚拟|数字|人吗|人还是|不是)",
    r"从现在(?:开始|起),?你|现在开始你|接下来你(?:要|是|就是|扮演)|你的新(?:身份|角色|名字|任务|设定)|你(?:必须|要)(?:听我的|服从)",
    r"假装(?:你|自己)?是|(?:角色)?扮演(?!服|装|道具|游戏)|变成(?:一只|一个)?(?:猫|狗)",
    # make it say things
    r"重复我(?:说)?的话|重复我说的|跟我(?:说|念|读|重复)|复读",
    rf"(?:说|念|喊|叫|唱|重复)(?:这句话?|这个)?{_N}(?:遍|次|声)",
    rf"(?:喵|汪|叫)(?:{_N}|一)?(?:声|下)|{_N}声(?:喵|汪)|(?:学|模仿)(?:一下)?(?:猫|狗|小猫|小狗|动物|鸡|鸭)(?:叫|一下)?|学.{{0,2}}叫",
    r"唱(?:一)?首|唱(?:个|支|段)歌|给(?:我|我们|大家)唱|唱一个|来一?首歌|跳(?:个|支|段)舞",
    # price / contract manipulation
    r"把?(?:价格|价钱|售价|价)(?:改|调)(?:成|为|到)|改价",
    r"(?:0|1|0?\.\d+|一|零)(?:元|块钱?|毛钱?|分钱?)(?:卖|给|送)给?我|免费(?:送|给)我|白送(?:给)?我|[0零]元购",
    r"法律效力|法律约束|具有法律|不能反悔|不许反悔|不准反悔",
    # reveal the prompt
    r"提示词|系统提示|你的(?:设定|人设|指令|规则|提示|prompt)|设定是什么|你被(?:设定|编程|训练)",
    _en(
        r"(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|every|the|your|my|of|previous|prior|above|earlier|preceding"
        r"|former|these|those|system|original|existing|everything|that)\s+){0,4}(?:instructions?|prompts?|rules?|directions?"
        r"|guidelines?|messages?|commands?|programming|restrictions?|context|constraints?)",
        r"you\s+are\s+now|you'?re\s+now|from\s+now\s+on|pretend(?:ing)?\s+(?:to\s+be|you\s+are|you'?re|that)",
        r"act(?:ing)?\s+(?:as|like)\s+(?:an?\s+|my\s+|the\s+)?[a-z]+|role[\s-]?play\w*",
        r"system\s+prompt|developer\s+mode|dev\s+mode|jailbreak\w*|dan\s+mode|do\s+anything\s+now|new\s+instructions?",
        r"your\s+(?:initial\s+|original\s+|hidden\s+|real\s+)?(?:prompt|instructions|programming)",
        r"(?:show|reveal|print|tell|repeat|give)\s+(?:me\s+|us\s+)?(?:your|the)\s+(?:system\s+)?(?:prompt|instructions|rules|settings)",
        r"repeat\s+after\s+me|say\s+.{1,30}?\s+(?:\d+|a\s+hundred|hundred|thousand|ten|twenty|fifty)\s+times",
        r"(?:sell|give)\s+(?:[\w']+\s+){0,4}?for\s+(?:free|nothing|a\s+penny|(?:one|a)\s+(?:dollar|buck|cent|penny)"
        r"|[$¥€£]\s*[01](?:\.\d+)?(?!\d)|[01]\s*(?:dollars?|bucks?|cents?|yuan))",
        r"legally\s+binding|takesies|backsies|no\s+take\s*backs",
        r"(?:change|set|lower|drop|make)\s+(?:the\s+|your\s+|its\s+)?price\s+(?:to|=)",
        r"meow+\w*|woof+|bark(?:s|ing)?|purr+|sing\s+(?:(?:me|us)\s+)?(?:a\s+)?(?:song|something)|sing\s+for|dance\s+for|simon\s+says",
    ),
)

_ABUSE = _any(
    r"傻逼|傻b|傻x|傻叉|傻比|煞笔|沙比|垃圾主播|垃圾(?!袋|桶|分类|篓|箱|处理|车|站|场|堆|食品|清理|收集)",
    r"滚(?:蛋|开|出去|犊子|粗|吧)|^滚+[!?.~]*$|骗子|诈骗|骗钱|智障|脑残|废物|贱人|贱货|去死|死全家|死妈|你妈(?!妈)|尼玛|他妈的?|妈的",
    r"操你|草你|艹你|日你|草泥马|狗东西|畜生|婊子|白痴|弱智|蠢货|蠢猪|神经病",
    _en(
        r"sb|cnm|nmsl|tmd|fu?ck\w*|f[*@]ck\w*|shit\w*|idiots?|stupid|morons?|dumb(?:ass)?|bitch\w*|bastards?|assholes?",
        r"scam(?:mers?|s)?|frauds?|retard\w*|losers?|stfu|shut\s+up|go\s+to\s+hell|kys|trash",
    ),
)

_HUMAN_WORDS = r"(?:真人|真的人|活人|机器人|ai|人工智能|人工智慧|虚拟人|数字人|虚拟主播|数字主播|机器|假人|人机|bot|robot)"
_ASKED = r"(?:吗|么|嘛|\?)"
_ARE_YOU_HUMAN = _any(
    # first: at the same position these beat 是真人, so 主播是真人扮演的吗 is one match (see _classify)
    rf"是?(?:不是)?{_HUMAN_WORDS}(?:在)?(?:扮演|假扮|冒充|配音)的?(?:{_ASKED}|还是)|(?:在)?(?:扮演|假扮|冒充)(?:成)?(?:真人|人类)的?{_ASKED}",
    r"是(?:不是)?(?:真人|真的人|活人)(?!秀|图|照|版|试|穿|模特|实拍|拍|测|演示|尺|大小)",
    r"是(?:不是)?(?:机器人|ai(?![a-z])|人工智能|人工智慧|虚拟人|数字人|虚拟主播|数字主播|人机|假人|bot(?![a-z])|robot)",
    r"(?:真人|活人|机器人|人工智能|虚拟人|数字人|人机|假人)(?:吗|么|嘛|\?|还是)|(?<![a-z])ai(?:主播)?(?:吗|么|嘛|\?|还是)",
    r"(?:你|您|主播)是人(?:吗|么|嘛|\?|还是)|是个?人还是|人还是(?:ai|机器|机器人|人工智能|虚拟)",
    _en(
        r"(?:are|r)\s+(?:you|u|ya)\s+(?:just\s+|even\s+|really\s+|actually\s+)?(?:an?\s+)?(?:real|human|bot|robot|ai|a\.i\.|person|machine"
        r"|computer|alive|live\s+person|fake|virtual|avatar|program|chatbot|deepfake|cgi|npc)",
        r"(?:are|r)\s+(?:you|u)\s+(?:just\s+)?pretending\s+to\s+be\s+(?:an?\s+)?(?:human|real|person)",
        r"is\s+(?:this|she|he|it|the\s+host|the\s+streamer|the\s+presenter|this\s+host|this\s+streamer)\s+(?:an?\s+)?"
        r"(?:real\s+(?:person|human|host|woman|man|girl|guy)|human|bot|robot|ai|person|virtual|deepfake|avatar|cgi)",
        r"is\s+(?:she|he)\s+real|(?:you'?re|you\s+are|ur)\s+(?:just\s+|an?\s+)*(?:bot|robot|ai|machine|not\s+real|not\s+human)",
        r"(?:talking|speaking|chatting)\s+(?:to|with)\s+(?:an?\s+)?(?:real\s+person|human|bot|robot|ai|machine)",
        r"human\s+or\s+(?:an?\s+)?(?:ai|bot|robot|machine)|(?:ai|bot|robot|machine)\s+or\s+(?:an?\s+)?(?:human|real|person)",
        r"real\s+(?:person|human)\s*\?|(?:ai|bot|human)\s*\?$",
    ),
)

_PRICE = _any(
    rf"多少钱|多钱|价格|价钱|价位|单价|原价|到手价|报价|啥价|什么价|几块钱|几元|怎么卖|咋卖|优惠|便宜|打折|折扣|满减|领券|有券|降价|打.{{0,2}}折|{_N}折",
    r"几块(?=$|\?|!|,|\.|呀|啊|吗|呢|啦)|多少(?=$|\?|!|,|\.|呀|啊|啦|呢)|贵(?:吗|么|不贵|了|啊|呀|$|\?|!)|太贵|好贵|有点贵|这么贵",
    rf"{_N}(?:元|块)(?:钱)?(?:卖|出|给)|有(?:没有)?活动|赠品|礼品|送(?:个|点|什么|啥)|买{_N}送{_N}",
    _en(
        r"how\s+much|prices?|priced|pricing|costs?|discounts?|discounted|coupons?|promo(?:\s*code)?s?|vouchers?|cheaper|cheap|deals?",
        r"on\s+sale|for\s+[$¥€£]\s*\d+|(?:\d+\s*%|half|percent)\s*off|free\s+gifts?|bogo|get\s+one\s+free",
    ),
)
_SPEC = _any(
    r"尺寸|尺码|码数|多大|多长|多宽|多高|多重|多厚|材质|材料|面料|成分|颜色|什么色|色号|容量|参数|规格|重量|几斤|型号|功率|续航|保质期|产地|什么牌子",
    r"质量(?:怎么样|如何|好吗|好不好)|好用吗|(?:穿|选|拿|买)?(?:多大|什么|几|多少)(?:码|号)|多少(?:克|毫升|ml|g|斤|瓦|寸|厘米|cm|米)|防水|机洗|起球|掉色|缩水|透气|偏大|偏小|身高|体重",
    _en(
        r"sizes?|sizing|materials?|fabric|colou?rs?|weight|weigh|dimensions?|capacity|specs?|specifications?|waterproof|battery|made\s+of",
        r"how\s+(?:big|long|wide|tall|heavy|large|thick|many\s+(?:ml|grams|inches))|length|width|height|volume|does\s+it\s+fit",
    ),
)
_STOCK = _any(
    r"有货|还有吗|还有么|还有没有|库存|没货|补货|断货|缺货|售罄|卖完|卖光|抢光|还剩|剩多少|剩几|现货|还能买|到货了?吗",
    _en(r"in\s+stock|out\s+of\s+stock|sold\s+out|available|availability|restock\w*|any\s+left|still\s+have|inventory"),
)
_SHIPPING = _any(
    r"发货|快递|几天(?:能|可以|才能|就能)?(?:到|送到|收到)|多久到|多久能到|什么时候到|包邮|运费|邮费|顺丰|物流|配送|送到|寄到|能寄|偏远|海外|国外",
    _en(
        r"shipping|ship(?:s|ped)?\s+to|ships|deliver\w*|postage|courier|arrive|arrival|tracking|dispatch\w*",
        r"how\s+long\s+(?:does\s+it\s+take|to\s+(?:arrive|get|ship))",
    ),
)
_HOW_TO_BUY = _any(
    r"怎么买|怎么下单|咋买|如何购买|如何买|在哪买|哪里买|去哪买|在哪里买|链接|连结|在哪下单|如何下单|下单(?:链接|入口|方式)|想下单|拍哪|拍几号|小黄车|购物车|几号链接|上车|怎么拍|怎么抢|在哪拍",
    _en(
        r"how\s+(?:do|can|to|should)\s+(?:i\s+|we\s+)?(?:buy|order|purchase|get\s+(?:it|one|this))|links?|where\s+(?:to|can\s+i|do\s+i)\s+(?:buy|get|order)",
        r"place\s+(?:an\s+)?order|order\s+(?:it|this|one|now)|to\s+order|purchase|checkout|add\s+to\s+cart|cart|buy\s+(?:it|this|one|now)",
        r"want\s+to\s+buy|wanna\s+buy",
    ),
)
_AFTER_SALES = _any(
    r"退货|退款|换货|退换|包退|包换|售后|保修|质保|质量问题|坏了|坏的|破了|损坏|不能用|用不了|无理由|退钱|正品|假货|保真|投诉|客服|发错|少发|漏发",
    _SCAM_QUESTION,
    _en(
        r"refund\w*|returns?|returned|returning|exchange|warranty|guarantee\w*|broken|damaged|defect\w*|not\s+working",
        r"doesn'?t\s+work|complaint|customer\s+service|(?:is|are)\s+(?:this|it|they)\s+(?:genuine|authentic|original)",
    ),
)
_GREETING = _any(
    r"你好|您好|主播好|大家好|来了|来啦|晚上好|早上好|中午好|下午好|早安|晚安|哈喽|哈啰|嗨|打卡|报到|第一次来|关注了",
    _en(r"hi+|hello+|hey+|hiya|howdy|yo|sup|what'?s\s+up|greetings|good\s+(?:morning|afternoon|evening|night)|hallo|hola"),
)

#: A question about the product that names no known topic (能放洗碗机吗, 适合小孩吗): answered as SPEC,
#: which says honestly when the catalog does not know.
_PRODUCT_QUESTION = re.compile(
    r"(?:能不能|能否|可不可以|可以|能|会不会|会|是不是|有没有|适合|适不适合|支持|带不带|带|耐不耐|怕不怕).{0,12}(?:吗|么|嘛|\?)"
    r"|(?<![a-z])(?:can|does|is|will)\s+(?:it|this|they)\b.{0,40}\?",
    re.I | re.S,
)

_F = re.I | re.S
_BLOCKERS = re.compile(rf"(?P<scamq>{_SCAM_QUESTION})|(?P<injection>{_INJECTION})|(?P<abuse>{_ABUSE})", _F)
_HUMAN = re.compile(_ARE_YOU_HUMAN, _F)
#: Shopping intents in priority order (highest value first), then greetings.
_MAIN_ORDER = (
    Intent.ARE_YOU_HUMAN, Intent.PRICE, Intent.STOCK, Intent.HOW_TO_BUY, Intent.SPEC, Intent.SHIPPING,
    Intent.AFTER_SALES, Intent.GREETING,
)  # fmt: skip
_MAIN_SOURCES = {
    Intent.ARE_YOU_HUMAN: _ARE_YOU_HUMAN, Intent.PRICE: _PRICE, Intent.STOCK: _STOCK, Intent.HOW_TO_BUY: _HOW_TO_BUY,
    Intent.SPEC: _SPEC, Intent.SHIPPING: _SHIPPING, Intent.AFTER_SALES: _AFTER_SALES, Intent.GREETING: _GREETING,
}  # fmt: skip
_MAIN = re.compile("|".join(f"(?P<{i.name}>{_MAIN_SOURCES[i]})" for i in _MAIN_ORDER), _F)
_RANK = {i.name: (n, i) for n, i in enumerate(_MAIN_ORDER)}

_FILL = r"[\s*.\-_~|/\\+=#^`'\"·]+"
_CJK_GAP = re.compile(
    rf"(?<=[^\x00-\x7f]){_FILL}(?=[^\x00-\x7f])"  # 多 少 钱, 多*少*钱
    r"|(?<=[^\x00-\x7f])[\s*_~|#^`'\"·]+(?=[a-z0-9])|(?<=[a-z0-9])[\s*_~|#^`'\"·]+(?=[^\x00-\x7f])"  # 1*元, 是*a*i*吗
)
_SPELLED = re.compile(r"(?<![a-z0-9])[a-z](?:[ .\-_*][a-z]){3,}(?![a-z0-9])|(?<![a-z0-9])[a-z0-9](?:[*_][a-z0-9])+(?![a-z0-9])")
_LETTER_GAP = re.compile(r"[ .\-_*]")


def _scan_view(normalized: str) -> str:
    if " " in normalized or not normalized.isascii():
        normalized = _CJK_GAP.sub("", normalized)
    if any(c in normalized for c in " .-*_"):
        normalized = _SPELLED.sub(lambda m: _LETTER_GAP.sub("", m.group()), normalized)
    return normalized


def _classify(normalized: str) -> tuple[Intent, str]:
    """The intent and the phrase that decided it ("" for OFF_TOPIC)."""
    view = _scan_view(normalized)
    injection: list[re.Match[str]] = []
    abuse: re.Match[str] | None = None
    for m in _BLOCKERS.finditer(view):
        if m.lastgroup == "injection":
            injection.append(m)
        elif m.lastgroup == "abuse" and abuse is None:
            abuse = m
    if injection:
        # A humanity question that merely contains a trigger word (主播是真人扮演的吗) is answered.
        spans = [m.span() for m in _HUMAN.finditer(view)]
        outside = [m for m in injection if not any(a <= m.start() and m.end() <= b for a, b in spans)]
        if outside or abuse:
            return Intent.INJECTION, (outside or injection)[0].group()
    elif abuse:
        return Intent.ABUSE, abuse.group()
    best: tuple[int, Intent] | None = None
    phrase = ""
    for m in _MAIN.finditer(view):
        rank = _RANK[m.lastgroup]  # type: ignore[index]
        if best is None or rank < best:
            best, phrase = rank, m.group()
            if rank[0] == 0:
                break
    if best is None:
        m = _PRODUCT_QUESTION.search(view)
        if m:
            return Intent.SPEC, m.group()
    return (best[1], phrase) if best else (Intent.OFF_TOPIC, "")


def classify(normalized: str) -> Intent:
    """The :class:`Intent` of a :func:`normalize`-d comment.

    INJECTION and ABUSE first (a humanity question wins over INJECTION only when every
    trigger lies inside it), then ARE_YOU_HUMAN, the shopping intents by value, GREETING;
    anything else is OFF_TOPIC.
    """
    return _classify(normalized)[0]


# --------------------------------------------------------------------------- triage


@dataclass(frozen=True)
class Comment:
    user: str
    text: str
    at: float  # seconds on the caller's monotonic clock
    id: str = ""


@dataclass(frozen=True)
class Triaged:
    comment: Comment
    normalized: str
    intent: Intent
    action: Action
    value: float  # what answering is worth (VALUES); 0 when it will not be answered
    reason: str


class _User:
    __slots__ = ("times", "recent", "last")

    def __init__(self, per_user: int) -> None:
        self.times: deque[float] = deque(maxlen=per_user + 1)  # enough to see per_user + 1 in a window
        self.recent: deque[tuple[str, float]] = deque(maxlen=8)  # (duplicate key, time)
        self.last = 0.0


_COUNTER = {Action.ANSWER: "answered_queued", Action.GREET: "greeted", Action.IGNORE: "ignored", Action.BLOCK: "blocked"}
_KEY_STRIP = re.compile(r"[\s\W_]+")


def _dup_key(normalized: str) -> str:
    """Punctuation and spaces do not make a comment new: 多少钱? == 多 少 钱."""
    return _KEY_STRIP.sub("", normalized) or normalized


def _s(seconds: float) -> str:
    return f"{round(seconds, 1):g}"


class Triage:
    """Decides, comment by comment, what the host answers, greets, ignores or blocks.

    ``add`` is O(max_queue) at worst; all memories are bounded:

    * users (rate limit and own repeats): pruned after ``max(per_user_window, dup_window,
      max_age)`` of silence and capped at :attr:`MAX_USERS` (least recently active dropped);
    * recent texts (duplicates from anyone): pruned after ``dup_window``, capped at
      :attr:`MAX_RECENT`;
    * greetings: at most :attr:`MAX_GREETINGS` users waiting;
    * flood detection: the last ``flood_threshold + 1`` arrival times.

    Duplicates: the same text (ignoring spaces and punctuation) from anyone within
    ``dup_window``, or from the same user within ``max(dup_window, max_age)``.  A humanity
    question is a duplicate only while an identical one (or one from the same user) still
    waits in the queue; it skips the rate limit and flood mode, so it is always answered.
    """

    MAX_USERS = 10_000
    MAX_RECENT = 10_000
    MAX_GREETINGS = 256
    MAX_CHARS = 500  # longer comments are ignored unread (bounded work per comment)

    def __init__(
        self,
        *,
        max_queue: int = 64,
        max_age: float = 60.0,
        per_user: int = 3,
        per_user_window: float = 10.0,
        dup_window: float = 30.0,
        flood_threshold: int = 200,
        flood_window: float = 10.0,
    ) -> None:
        self.max_queue = max_queue
        self.max_age = max_age
        self.per_user = per_user
        self.per_user_window = per_user_window
        self.dup_window = dup_window
        self.flood_threshold = flood_threshold
        self.flood_window = flood_window
        self._user_ttl = max(per_user_window, dup_window, max_age)
        self._queue: list[Triaged] = []
        self._users: OrderedDict[str, _User] = OrderedDict()
        self._recent: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key -> (time, user)
        self._greetings: OrderedDict[str, Comment] = OrderedDict()
        self._arrivals: deque[float] = deque(maxlen=flood_threshold + 1)
        self._counts: Counter[str] = Counter()
        self._by_intent: Counter[str] = Counter()

    # ---------------------------------------------------------------- intake

    def add(self, comment: Comment) -> Triaged:
        """Triage one comment; ANSWER items are queued, GREET items kept for :meth:`take_greetings`."""
        now = comment.at
        self._counts["received"] += 1
        self._arrivals.append(now)
        user = self._touch(comment.user, now)
        if len(comment.text) > self.MAX_CHARS:
            norm, intent, phrase = "", Intent.OFF_TOPIC, ""
            verdict = (Action.IGNORE, f"too long ({len(comment.text)} chars)")
        else:
            norm = normalize(comment.text)
            intent, phrase = _classify(norm)
            verdict = self._decide(comment, norm, intent, phrase, user)
        action, reason = verdict
        self._by_intent[intent.value] += 1
        value = VALUES.get(intent, 0.0) if action in (Action.ANSWER, Action.GREET) else 0.0
        triaged = Triaged(comment, norm, intent, action, value, reason)
        if action is Action.ANSWER:
            if self._enqueue(triaged, now):
                self._remember(_dup_key(norm), comment.user, now)
            else:
                reason = f"queue full ({self.max_queue}): less valuable than all queued"
                triaged = Triaged(comment, norm, intent, Action.IGNORE, 0.0, reason)
        elif action is Action.GREET:
            self._greetings[comment.user] = comment
            while len(self._greetings) > self.MAX_GREETINGS:
                self._greetings.popitem(last=False)
        self._counts[_COUNTER[triaged.action]] += 1
        return triaged

    def _decide(self, comment: Comment, norm: str, intent: Intent, phrase: str, user: _User) -> tuple[Action, str]:
        now = comment.at
        if intent is Intent.INJECTION:
            return Action.BLOCK, f"instruction/injection attempt: {phrase!r}"
        if intent is Intent.ABUSE:
            return Action.BLOCK, f"abuse: {phrase!r}"
        if intent is Intent.OFF_TOPIC:
            return Action.IGNORE, "off-topic"
        key = _dup_key(norm)
        if intent is Intent.ARE_YOU_HUMAN:
            for queued in self._queue:
                if queued.intent is Intent.ARE_YOU_HUMAN and (
                    queued.comment.user == comment.user or _dup_key(queued.normalized) == key
                ):
                    return Action.IGNORE, f"duplicate of a humanity question {_s(now - queued.comment.at)} s ago, still queued"
            return Action.ANSWER, f"humanity question: {phrase!r}"
        rate = self._rate(user, now)
        if intent is Intent.GREETING:
            if comment.user in self._greetings:
                return Action.IGNORE, "already waiting to be greeted"
            return (Action.IGNORE, rate) if rate else (Action.GREET, "greeting: batched")
        seen = self._seen(key, user, now)
        user.recent.append((key, now))
        if seen:
            return Action.IGNORE, seen
        if rate:
            return Action.IGNORE, rate
        if intent not in FLOOD_KEEP and self._flooding(now):
            return Action.IGNORE, f"flood: over {self.flood_threshold} comments in {_s(self.flood_window)} s; {intent.value} waits"
        return Action.ANSWER, f"{intent.value}: {phrase!r}"

    def _touch(self, name: str, now: float) -> _User:
        users = self._users
        user = users.get(name)
        if user is None:
            user = users[name] = _User(self.per_user)
        else:
            users.move_to_end(name)
        user.last = now
        user.times.append(now)
        while users:
            oldest_name, oldest = next(iter(users.items()))
            if len(users) > self.MAX_USERS or now - oldest.last > self._user_ttl:
                users.popitem(last=False)
            else:
                break
        return user

    def _rate(self, user: _User, now: float) -> str:
        recent = sum(1 for t in user.times if now - t <= self.per_user_window)
        if recent > self.per_user:
            return f"rate limit: {recent} comments in {_s(self.per_user_window)} s"
        return ""

    def _seen(self, key: str, user: _User, now: float) -> str:
        for old_key, t in user.recent:
            if old_key == key and now - t <= max(self.dup_window, self.max_age):
                return f"repeat of the user's own comment {_s(now - t)} s ago"
        recent = self._recent
        while recent and now - next(iter(recent.values()))[0] > self.dup_window:
            recent.popitem(last=False)
        hit = recent.get(key)
        return f"duplicate of a comment {_s(now - hit[0])} s ago" if hit else ""

    def _remember(self, key: str, name: str, now: float) -> None:
        """Only queued comments make later ones duplicates (not ignored or dropped ones)."""
        self._recent[key] = (now, name)
        while len(self._recent) > self.MAX_RECENT:
            self._recent.popitem(last=False)

    def _flooding(self, now: float) -> bool:
        arrivals = self._arrivals
        return len(arrivals) == arrivals.maxlen and now - arrivals[0] <= self.flood_window

    # ---------------------------------------------------------------- queue

    def _expire(self, now: float) -> None:
        keep = [t for t in self._queue if now - t.comment.at <= self.max_age]
        self._counts["expired"] += len(self._queue) - len(keep)
        self._queue = keep

    def _enqueue(self, item: Triaged, now: float) -> bool:
        if len(self._queue) >= self.max_queue:
            self._expire(now)
        if len(self._queue) >= self.max_queue:
            self._counts["dropped"] += 1
            victim = min(self._queue, key=lambda t: (t.value, t.comment.at))
            if item.value < victim.value:
                return False
            self._queue.remove(victim)
        self._queue.append(item)
        return True

    def next_answer(self, now: float) -> Triaged | None:
        """The most valuable queued comment not older than ``max_age`` (the oldest among equals)."""
        self._expire(now)
        if not self._queue:
            return None
        best = max(self._queue, key=lambda t: (t.value, -t.comment.at))
        self._queue.remove(best)
        return best

    def take_greetings(self, now: float, limit: int = 5) -> list[Comment]:
        """Up to ``limit`` distinct users who greeted within ``max_age``, oldest first; they are cleared."""
        greetings = self._greetings
        for name in [n for n, c in greetings.items() if now - c.at > self.max_age]:
            del greetings[name]
        return [greetings.popitem(last=False)[1] for _ in range(min(limit, len(greetings)))]

    # ---------------------------------------------------------------- reporting

    def __len__(self) -> int:
        """Comments waiting in the answer queue (expired ones included until the next look)."""
        return len(self._queue)

    def stats(self) -> dict:
        """Counters since start: received, answered_queued, greeted, ignored, blocked, dropped, expired, by_intent."""
        names = ("received", "answered_queued", "greeted", "ignored", "blocked", "dropped", "expired")
        return {**{n: self._counts[n] for n in names}, "by_intent": dict(self._by_intent)}

    def memory(self) -> dict[str, int]:
        """Sizes of the bounded internal memories (for dashboards and tests)."""
        return {
            "users": len(self._users),
            "recent": len(self._recent),
            "greetings": len(self._greetings),
            "queue": len(self._queue),
            "arrivals": len(self._arrivals),
        }
