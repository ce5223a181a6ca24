"""The product fact base: every fact a catalog record states, and retrieval over them.

:class:`ProductFacts` splits a product's title, description, selling points,
specs, brand, category, variants and the shop's terms into short clauses
(Chinese and English), each with the field it came from and the numbers (with
units) it states.  What the host may say and what it can back are the same
thing: replies quote these facts, the selling talk walks through them, and
the gate backs numbers with them (:meth:`ProductFacts.backs`).

Retrieval is BM25 (``bm25s``) over words, Chinese characters and character
pairs, plus a token per kind of quantity a fact states (weight, duration,
temperature...), so "保温多久" finds "保温12小时" and "how heavy is it" finds
"2.4 kg".
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from products.model import Product, Variant
from products.money import spoken_money
from scripts_gen import fit as fitting
from scripts_gen.rules.numbers import fold
from scripts_gen.rules.quantities import Quantity, find_numbers, find_quantities
from scripts_gen.text import find_all

if TYPE_CHECKING:
    import bm25s

log = logging.getLogger(__name__)


def _load_bm25s() -> Any:
    """``bm25s``, imported without jax.

    ``bm25s.selection`` imports jax whenever it is installed (mediapipe brings it) to offer
    a jax top-k, and its "auto" backend then ranks with jax: about 1.1 s of every process
    start, and ties ordered by whichever library the machine happens to have.  Retrieval
    here always ranks with numpy, so jax is kept out of that one import (and left
    importable for anything else that wants it).
    """
    if "bm25s" in sys.modules or "jax" in sys.modules:
        return importlib.import_module("bm25s")
    sys.modules["jax"] = None  # type: ignore[assignment]  # makes `import jax...` raise ImportError
    try:
        return importlib.import_module("bm25s")
    finally:
        del sys.modules["jax"]


_bm25s = _load_bm25s()

_OFFER_QUESTION = re.compile(r"券|赠|送|折|优惠|便宜|活动|减|coupon|voucher|gift|discount|off|deal|promo|cheaper|free", re.I)
_SHIP_WORDS = ("发货", "快递", "包邮", "运费", "邮费", "物流", "顺丰", "送达", "到货", "ship", "deliver", "postage", "courier")
_AFTER_WORDS = ("退", "换", "保修", "质保", "售后", "保障", "return", "refund", "warranty", "exchange")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_ALNUM_PART = re.compile(r"[a-z]+|[0-9]+(?:\.[0-9]+)?")
_EN_STOP = frozenset("""the a an and or for you your are this that these those with what how does do did its it's it can
    much long big many which who where when why whats waht pls please ok okay hi hey just really right one ones get got
    is be any have has of in on to at by from as if so not no yes i me my we our they them he she his her will would
    should could there their which who whom whose when where why about into out up down just than then too very
    itself themselves yourself myself
    much many more most some such only own same also""".split())
# characters that carry no topic on their own (question words, particles, pronouns)
_ZH_STOP = frozenset("的了吗么嘛呢吧啊呀哦哈是有在这那个款些么怎啥什样多少几哪谁和与及或也都还就能会可以要想我你您他她它们不没很太更最"
                     "着去到给把被让跟")
# words a question uses for its circumstances, not its subject: "is it ok for work", "夏天用合适吗"
_EN_CONTEXT = frozenset("""like good ok okay fine use used using work works go goes come comes buy get put bring wear need want
    make makes made keep fit fits safe kid kids child children baby time times each once after before inside thing things stuff
    day days daily everyday people person someone home house office normal usual usually well bad easy hard long short new old
    first last still even ever way lot lots bit little big small""".split())
_ZH_CONTEXT = ("夏天", "冬天", "春天", "秋天", "平时", "每天", "天天", "上班", "通勤", "家里", "家用", "宝宝", "孩子", "小孩", "老人",
               "大人", "合适", "适合", "时间", "里面", "一次", "一下", "刚买", "买来", "东西", "正宗", "真的", "一般", "大概", "左右",
               "感觉", "觉得", "自己", "朋友", "喜欢", "需要", "担心", "害怕", "问问", "请问", "主播", "姐妹", "宝子", "家人")
# question words -> the kind of quantity they ask about (a token facts of that kind carry)
_ASKS = (
    (re.compile(r"多重|几斤|几公斤|多少克|多少斤|几克|重量|重吗|重不重|轻吗|轻不轻|净含量|heavy|weigh|weight|how\s+light"
                r"|how\s+many\s+(?:grams?|kg|kilos?|ounces?|oz|pounds?|lbs?)\b"), "weight"),
    # "how much powder per bowl", "一次放多少": an amount, by weight, volume or count
    (re.compile(r"how\s+much(?=\s+\w+\s+(?:per|each|for\s+(?:one|a|each)))|(?:用|放|加|吃|冲)多少|每次.{0,3}多少"), "weight"),
    (re.compile(r"how\s+much(?=\s+\w+\s+(?:per|each|for\s+(?:one|a|each)))|(?:用|放|加|吃|冲)多少|每次.{0,3}多少"), "volume"),
    (re.compile(r"多大|尺寸|多长|多宽|多高|直径|长宽|裤长|衣长|多少(?:厘米|公分|cm|毫米|mm)|几(?:厘米|公分)|how\s+(?:big|large|long\s+is|wide|tall)|dimensions?|\bsize\s+of"),
     "length"),
    (re.compile(r"多大|how\s+big"), "volume"),
    (re.compile(r"多远|距离|how\s+far"), "length"),  # 这瓶多大: a bottle's size is its volume
    (re.compile(r"多久|多长时间|几个?小时|几分钟|几天|几年|续航|保质期|充电时间|充满|\bhow\s+fast|\bhow\s+often|\bhours?\b|\bminutes?\b"
                # "how long is it": the thing's length, not a time
                r"|\bhow\s+long(?!\s+(?:is|are)\s+(?:it|this|that|they|these|this\s+one|the\s+(?:mat|cable|cord|rug|strap|blade|bed))\s*[?!.]*$)"
                r"|\blasts?\b|\blife\b|\bshelf\b|\b(?:charge|charging|boil|boiling|cook|cooking|heat|heating|brew|brewing)\s*time"),
     "duration"),
    (re.compile(r"多少度|几度|温度|水温|°|temperature|degrees|how\s+hot|oven|\btemps?\b"), "temperature"),
    (re.compile(r"容量|多少毫升|多少ml|几升|装多少|多少水|能装|capacity|volume|how\s+much\s+(?:water|liquid)|\bml\b"
                r"|how\s+(?:much|big)\s+(?:does\s+it|will\s+it|can\s+it)\s+hold|bin"), "volume"),
    (re.compile(r"几片|几张|几粒|几颗|几包|几袋|几个|几只|几件|几块|几罐|几次|几回|几档|多少片|多少张|多少粒|多少包|多少个|多少块|多少件|多少次|"
                r"how\s+many|\bcount\b|pieces|how\s+often"), "count"),
    (re.compile(r"电池|电量|毫安|容量|battery|mah|\bwh\b|capacity"), "battery"),
    (re.compile(r"功率|瓦(?!时)|watts?|wattage|\bpower\b|\bhow\s+fast|充电(?:多快|快不快|速度)"), "power"),  # a charger's speed
    (re.compile(r"电压|伏|volts?|voltage|\d+\s*v\b"), "voltage"),
    (re.compile(r"多亮|流明|最亮|亮度(?:多少|是多少|多大|几|怎么样|够吗|够不够|高吗|高不高)|how\s+bright|lumens?|brightness\s*\??$"),
     "light"),
    (re.compile(r"色温|冷光|暖光|白光|黄光|warm\s+(?:or|light|white)|cool\s+(?:or|light|white)|colou?r\s+temp(?:erature)?|kelvin"),
     "colour_temperature"),
    (re.compile(r"含.{0,2}量|比例|百分之|占比|percent|percentage|how\s+much(?=\s+\w+\s+(?:is\s+)?in\b)|content"), "percent"),
    (re.compile(r"吸力|suction"), "pressure"),
    (re.compile(r"热量|卡路里|大卡|千卡|能量|calori|kcal|energy"), "energy"),
    (re.compile(r"降噪|噪音|分贝|声音大|吵|安静|静音|noise|anc\b|decibel|loud|quiet|noisy"), "sound"),
    (re.compile(r"厚|薄|thick|thin|gsm"), "density"),
    (re.compile(r"多厚|厚度|how\s+thick|thickness"), "length"),  # a case's 1.2 mm back, a mat's 6 mm
)
# question words -> words facts use for the same thing (a fact containing one answers the question)
_HINTS = (
    (re.compile(r"材质|材料|面料|成分|配料|什么做|啥做|什么钢|什么木|made\s+of|material|fabric|ingredients?|what\s+(?:steel|wood)"
                r"|what'?s\s+in\s+(?:it|them|this)|what\s+(?:else\s+)?is\s+in\s+(?:it|them|this|there)|besides|配料表|放的?(?:啥|什么)|加了(?:啥|什么)"
                r"|(?<!like\s)\b(?:plastic|metal|glass|wooden|bamboo|ceramic|aluminium|aluminum)\b|塑料|金属|玻璃|木头|陶瓷|竹子"),
     ("材质", "材料", "面料", "成分", "配料", "不锈钢", "钢", "铁", "木", "塑料", "玻璃", "陶瓷", "棉", "material", "made from",
      "made of", "steel", "iron", "wood", "plastic", "glass", "ceramic", "cotton", "wool", "ingredients", "with", "fabric is",
      "nylon", "polyester", "spandex", "elastane", "linen", "silk", "leather", "锦纶", "氨纶", "涤纶")),
    (re.compile(r"颜色|什么色|色号|colou?r"), ("颜色", "色", "color", "colour")),
    (re.compile(r"口味|什么味|味道|flavou?rs?|taste"), ("口味", "味", "flavor", "flavour", "taste")),
    (re.compile(r"冷冻|冰箱|冷藏|freez|fridge"), ("冷冻", "冷藏", "冰箱", "℃", "°c", "freez", "fridge")),
    (re.compile(r"早上|晚上|白天|夜里|早晚|\bam\b|\bpm\b|morning|evening|night"),
     ("早", "晚", "白天", "夜", "morning", "evening", "night", "am", "pm")),
    (re.compile(r"合适|适合|适不适合|suitable|good\s+for"), ("适合", "适用", "suitable", "for")),
    (re.compile(r"牌子|品牌|brand|who\s+makes"), ("品牌", "brand")),
    (re.compile(r"多重|重量|几斤|几公斤|多少克|几克|多少g|净含量|heavy|weigh"), ("重量", "净含量", "净重", "weight", "net", "weighs")),
    (re.compile(r"多高|高度|how\s+tall|height"), ("高", "高度", "height", "tall")),
    (re.compile(r"fit\s+under|under\s+(?:my|the|our)\s+(?:couch|sofa|bed|furniture|cabinets?)|clearance|沙发底|床底|钻(?:进|到)"),
     ("高", "高度", "height", "tall", "thin", "slim", "profile")),
    (re.compile(r"厚|薄|thick|thin"), ("厚", "薄", "thick", "thin", "weight", "cushion", "gsm")),
    (re.compile(r"产地|哪里产|哪产|哪里生产|国产|进口|哪里的|made\s+in|origin|where\s+(?:is\s+it|are\s+they|do\s+they)\s+"
                r"(?:from|made|grown|roast|produced)|where(?:'s|\s+is|\s+are|\s+r)?\s+(?:it|they|this|these)\s+(?:made|produced|manufactured)"
                r"|where.{0,20}from|(?:which|what)\s+country|哪个国家|哪国|哪儿(?:产|生产|的)|产自哪"),
     ("产地", "产自", "原产", "产区", "origin", "made in", "grown in", "roasted in", "forged in", "crafted in", "produced in",
      "handmade in", "assembled in", "imported", "进口", "国产")),
    (re.compile(r"怎么用|怎么泡|怎么冲|如何使用|用法|用量|冲泡|每次用|用几|how\s+(?:to|do\s+i|should\s+i)\s+(?:use|brew|make|apply)"
                r"|how\s+much\s+do\s+i\s+use|dosage"),
     ("使用", "用法", "用量", "冲泡", "每次", "方法", "泵", "use", "brew", "steep", "apply", "pea-sized")),
    (re.compile(r"洗碗机|清洗|怎么洗|能洗|水洗|机洗|手洗|dishwasher|wash|clean|dryer|tumble"),
     ("清洗", "洗碗机", "手洗", "机洗", "水洗", "洗", "dishwasher", "wash", "clean", "dry", "tumble")),
    (re.compile(r"电磁炉|induction"), ("电磁炉", "induction")),
    (re.compile(r"烤箱|oven"), ("烤箱", "oven")),
    (re.compile(r"冰|冷|cold|iced|chill"), ("保冷", "冷", "冰", "cold", "iced", "chill")),
    (re.compile(r"包装里|盒子里|配件|配什么|送什么|送线|附带|带什么|送不送|带不带|附送|有没有送|送.{1,4}[吗么嘛]|一套|套装里|里面有|"
                r"箱子里|盒里|包装里有|都有(?:啥|什么)|有哪些东西|in\s+the\s+set|come\s+in\s+the|in\s+the\s+box|what\s+comes\s+with|comes?\s+with|included|includes|attachments?|accessor"),
     ("in the box", "includes", "comes with", "comes in", "box with", "included", "盒", "装有", "附", "配有", "配件", "配套", "包含", "内含", "送", "线", "tool", "cable")),
    (re.compile(r"味道|香味|气味|异味|什么味|smell|scent|fragrance|notes|odou?r"),
     ("味", "香", "scent", "smell", "fragrance", "notes", "odor", "odour")),
    (re.compile(r"过敏|allerg"),
     ("过敏", "花生", "芝麻", "坚果", "同时加工", "生产线", "allerg", "peanut", "nut", "sesame", "same line", "facility")),
    (re.compile(r"adapter|\bplugs?\b|voltage|\buk\b|europe|\beu\b|australia|overseas|abroad|国外|出国|转换插头|插头|电压"),
     ("voltage", "outlet", "plug", "电压", "插头", "插座")),
    (re.compile(r"透不透|透吗|透么|会透|透光|打底|see[\s-]?through|\bsheer\b"),
     ("透", "内衣", "打底", "内衬", "sheer", "see-through", "lined", "lining", "opaque")),
    (re.compile(r"几岁|多大(?:的)?(?:孩子|宝宝|小孩)|年龄|适龄|宝宝能|孩子能|月龄|(?:\d+|[一二三四五六七八九十两几半]+)个?多?月(?:大|龄)?的?"
                r"(?:宝宝|孩子|小孩|婴儿|猫|狗|小奶猫|幼猫|幼犬)|小奶猫|幼猫|幼犬|ages?\b|years?\s+old|yrs?\s+old|y/?o\b|months?\s+old|kids?|toddler"),
     ("岁", "年龄", "以上", "月龄", "阶段", "幼", "age", "ages", "years", "up", "under", "months")),
    (re.compile(r"sleeps?\s+(?:hot|warm)|too\s+(?:hot|warm)|hot\s+at\s+night|night\s+sweats?|睡着热|盖着热|闷热|透气"),
     ("cool", "breathab", "透气", "凉", "temperature")),
    (re.compile(r"偏大|偏小|尺码|选码|穿什么码|选哪个码|which\s+size|what\s+size|run\s+(?:small|large|big)|fit"),
     ("尺码", "码", "偏", "建议", "size", "fit", "fits", "usual")),
    (re.compile(r"保存|储存|存放|怎么存|放冰箱|冷藏|stor(?:e|age)|keep\s+it|where\s+should\s+i\s+keep"),
     ("保存", "储存", "存放", "冷藏", "阴凉", "避光", "store", "storage", "keep", "below")),
    (re.compile(r"晒|阳光|太阳|sun(?!screen|block|glass|day)"), ("阳光", "晒", "直射", "sun", "sunlight")),
    (re.compile(r"硬度|hardness|hrc"), ("硬度", "hrc", "hardness")),
    (re.compile(r"飞机|登机|plane|flight|airline|carry[\s-]?on"), ("飞机", "登机", "航空", "wh", "flight", "plane", "carry-on")),
    (re.compile(r"防水|游泳|下水|泳池|淋雨|洗澡|淋浴|进水|泡水|waterproof|swim|shower|rain|pool|ip\d"),
     ("防水", "淋浴", "ip", "waterproof", "water", "sweat", "float", "shower")),
    (re.compile(r"防尘|沙滩|沙子|灰尘|dust|sand|beach"), ("防尘", "ip", "dust", "sand")),
    (re.compile(r"蓝牙|bluetooth|(?<![a-z])bt(?![a-z])"), ("蓝牙", "bluetooth")),
    (re.compile(r"刺痛|刺激|辣眼|sting|stings|burns?\b|tingl"), ("刺痛", "刺激", "刺", "sting", "tingl", "irritat", "patch test")),
    (re.compile(r"男女|男款|女款|男生|女生|男士|女士|(?<![a-z])(?:wo)?m[ae]n'?s?(?![a-z])|unisex|gender"),
     ("男女", "男款", "女款", "中性", "unisex", "men", "women")),
    (re.compile(r"(?:biggest|largest|smallest|max\w*|min\w*|what)\s+sizes?|sizes?\s+(?:do\s+you\s+have|available|range|come)"
                r"|最大.{0,2}[码号]|最小.{0,2}[码号]|(?:哪些|什么|几个)[码号]|[码号]数?(?:全|齐)"),
     ("comes in", "码有", "号有", "尺码有", "size")),
    (re.compile(r"多远|距离|how\s+far|\brange\b"), ("距离", "范围", "米", "range", "distance", "feet", "ft", "m")),
    (re.compile(r"几个口|接口|插口|ports?(?![a-z])|usb"), ("口", "接口", "usb", "port", "ports", "type-c")),
    (re.compile(r"弹力|弹性|stretch"), ("弹力", "弹", "stretch")),
    (re.compile(r"甜|糖|sweet|sugar"), ("糖", "甜", "sugar", "sweet")),
    (re.compile(r"盐|咸|salt"), ("盐", "咸", "salt", "salted", "unsalted")),
    (re.compile(r"口袋|兜|pockets?"), ("口袋", "兜", "pocket", "pockets")),
    (re.compile(r"结晶|crystal"), ("结晶", "crystal")),
    (re.compile(r"保质期|保质|shelf\s+life|best\s+before|expir"),
     ("保质期", "保质", "shelf life", "best before", "best-by", "best by", "from manufacture")),
    (re.compile(r"功率|wattage|\bwatts?\b"), ("功率", "瓦", "power", "watt")),
    (re.compile(r"温柔|轻柔|柔和|力度|刺激小|gentle|sensitive\s+(?:teeth|gums)"), ("敏感", "柔", "轻", "gentle", "sensitive", "soft")),
    (re.compile(r"档位|几个?档|什么档|模式|settings?\b|modes?\b"), ("模式", "档", "mode", "setting", "speed")),
    (re.compile(r"油炸|炸的|fried|deep[\s-]?fry"), ("油炸", "非油炸", "fried", "baked", "air-dried")),
    (re.compile(r"黏|粘|油腻|sticky|greasy|tacky|residue"), ("黏", "粘", "油腻", "吸收", "sticky", "greasy", "absorb", "residue")),
    (re.compile(r"fit\s+(?:my|an?|the)\s+(?:iphone|phone|\d+)|compatib|work\s+with\s+(?:my|an?)|适配|兼容|能用(?:在|于)"),
     ("compatib", "fits", "适配", "兼容", "适用")),
    (re.compile(r"油头|干头|油皮|干皮|混油|混干|敏感肌|油性|干性|oily|dry\s+(?:skin|hair)|sensitive\s+skin"),
     ("油性", "干性", "混合", "敏感", "适合", "发质", "肤质", "oily", "dry", "sensitive", "combination")),
    (re.compile(r"续航|电池|battery|充一次|充满电?(?:能|可以|用)|一次充电|满电|(?:single|one|full|a|per)\s+charge"),
     ("续航", "电池", "满电", "battery", "playback", "runtime", "run time")),
    (re.compile(r"容量|capacity"), ("容量", "capacity", "mah", "ml")),
    (re.compile(r"温度|水温|temperature"), ("温度", "水温", "度", "°c", "temperature")),
    (re.compile(r"尺寸|大小|多大|多高|多长|size|dimension|how\s+big"), ("尺寸", "cm", "厘米", "size", "inch", "mm")),
    (re.compile(r"适合.{0,4}(?:发质|肤质|皮肤|头发)|什么(?:发质|肤质)|hair\s+type|skin\s+type|kind\s+of\s+(?:hair|skin)"),
     ("适合", "发质", "肤质", "for", "skin", "hair")),
    (re.compile(r"缩水|shrink"), ("缩水", "预缩", "shrink", "pre-shrunk")),
    (re.compile(r"快充|fast\s+charg"), ("快充", "fast", "minute", "分钟")),
    (re.compile(r"显示|屏|display|screen"), ("显示", "数显", "屏", "display", "screen")),
)


@functools.lru_cache(maxsize=1024)
def _hint_pattern(word: str) -> re.Pattern[str]:
    """How a hint word is found in a fact: Chinese and symbols anywhere; an English word from its start ("port" is
    not in "support", "age" not in "package"), a short one whole or with an ending ("wash" in "washable", "for" not in
    "form"), a longer one as the stem it is ("freez" in "freezer", "allerg" in "allergens")."""
    if not word[:1].isascii() or not word[:1].isalpha():
        return re.compile(re.escape(word))
    end = r"(?:s|es|ed|d|ing|able|er|ers)?(?![a-z])" if len(word) <= 4 else ""
    return re.compile(r"(?<![a-z])" + re.escape(word) + end)


def _hint_hit(pattern: re.Pattern[str], question: str) -> re.Match[str] | None:
    """Where a hint pattern reads ``question``: at the start of an English word ("screen" is not read in "sunscreen",
    "port" not in "support"), anywhere in Chinese."""
    for m in pattern.finditer(question):
        at = m.start()
        if not (at > 0 and question[at].isascii() and question[at].isalpha() and question[at - 1].isascii()
                and question[at - 1].isalpha()):
            return m
    return None


def _hint_in(word: str, text: str) -> bool:
    """``word`` (lower case) is said in ``text`` (lower case) as a word, not inside another one."""
    return _hint_pattern(word).search(text) is not None


# catalog attribute words in both languages: a question in one finds a record written in the other
_GLOSSARY: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = tuple(
    (tuple(zh.split()), tuple(en.split("|"))) for zh, en in (
        ("棉 纯棉 全棉", "cotton"), ("羊毛", "wool"), ("美利奴", "merino"), ("真丝 桑蚕丝", "silk"), ("亚麻", "linen"),
        ("涤纶 聚酯", "polyester"), ("尼龙 锦纶", "nylon"), ("真皮 皮革", "leather"), ("不锈钢", "stainless steel|stainless"),
        ("碳钢", "carbon steel"), ("铸铁", "cast iron"), ("铝", "aluminum|aluminium"), ("钢", "steel"), ("硅胶", "silicone"),
        ("塑料", "plastic"), ("玻璃", "glass"), ("陶瓷", "ceramic"), ("木", "wood|wooden"), ("竹", "bamboo"), ("乳胶", "latex"),
        ("羽绒", "down"), ("鸭绒", "duck down|duck"), ("鹅绒", "goose down|goose"), ("安卓", "android"),
        ("苹果 iphone", "iphone|ios"), ("蓝牙", "bluetooth"), ("血氧", "spo2|blood oxygen"), ("心率", "heart rate"),
        ("睡眠", "sleep"), ("防水", "waterproof|water resistant|water-resistant"), ("充电", "charge|charging"),
        ("电池", "battery"), ("续航", "battery life|runtime"), ("快充", "fast charging|fast charge"), ("无线", "wireless"),
        ("降噪", "noise cancelling|anc"), ("尺寸 大小", "size|dimensions"), ("重量", "weight|weighs"), ("颜色", "colour|color"),
        ("品牌 牌子", "brand"), ("产地", "origin|made in"), ("保质期", "shelf life|best before"),
        ("配料 成分", "ingredients"), ("口味 味道", "flavour|flavor|taste"), ("糖", "sugar"), ("盐", "salt"),
        ("咖啡因", "caffeine"), ("有机", "organic"), ("纯素 素食", "vegan"), ("麸质", "gluten"), ("洗碗机", "dishwasher"),
        ("微波炉", "microwave"), ("烤箱", "oven"), ("电磁炉", "induction"), ("冰箱", "fridge|refrigerator"),
        ("机洗", "machine wash"), ("手洗", "hand wash"), ("防晒", "sunscreen|spf"), ("香味 香气", "scent|fragrance"),
        ("无香", "fragrance-free|unscented"), ("敏感肌", "sensitive skin"), ("宝宝 婴儿", "baby|infant"),
        ("儿童 孩子 小孩", "kids|children|child"), ("灯", "lamp|light"), ("亮度", "brightness"),
        ("色温", "colour temperature|color temperature"), ("包装内 包含", "in the box|included"),
        ("层", "layer|layers|ply"), ("防腐剂", "preservative|preservatives|preservative-free"),
        ("添加剂", "additive|additives"), ("酒精", "alcohol"), ("香精", "fragrance|perfume"), ("色素", "colouring|coloring|dye"),
        ("过敏原", "allergen|allergens"), ("坚果", "nuts|nut"), ("乳糖", "lactose"), ("无糖", "sugar-free|sugar free"), ("男女同款 中性", "unisex"),
    ))


def translations(question: str) -> list[str]:
    """The glossary's words in the other language for the words ``question`` uses."""
    out: list[str] = []
    for zh, en in _GLOSSARY:
        if any(w in question for w in zh):
            out += en
        if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", question) for w in en):
            out += zh
    return out


# pure question words: what the question asks, not what it is about
_QWORDS = re.compile(
    r"多久|多长时间|几个?小时|几分钟|几天|几年|几个?月|多少度|几度|多重|多大|多长|多宽|多高|多厚|多少钱|多少|一共|总共|几|什么|啥|咋|怎么|怎样|如何|哪里|哪儿|哪|"
    r"吗|么|嘛|呢|吧|是不是|有没有|能不能|可不可以|会不会|还是|"
    r"\b(?:how\s+(?:long|many|much|big|heavy|fast|hot|thick|tall|wide|large|often)|what(?:'?s)?|which|where(?:'?s)?|"
    r"when(?:'?s)?|why|does|do|did|is|are|can|could|will|would|should)\b")
# noun suffixes and light verbs: 杯子 is 杯, 带磨刀 asks about the 磨刀 (a pair is covered without them)
_SOFT = frozenset("子头儿带用")
# questions of an attribute: only a fact stating that attribute answers them ("电芯是什么牌子的": not 电芯容量)
_CATEGORY = re.compile(r"材质|材料|面料|成分|颜色|什么色|色号|牌子|品牌|产地|哪里产|哪产|made\s+(?:of|from|in)|material|fabric|"
                       r"ingredients?|colou?r|brand|origin|who\s+makes|(?:which|what)\s+country|哪个国家|哪国")
# how chat spells what records write otherwise: "wifi" is "Wi-Fi", "5g wifi" is a 5 GHz network (not 5 grams)
_RESPELL = (
    (re.compile(r"(?<![a-z0-9.])(\d(?:\.\d)?)\s*g(?:hz)?(?=\s*(?:wifi|wi-fi|网络|频段|信号|band|network|router))", re.I), r"\1 ghz"),
    (re.compile(r"(?<![a-z])wi\s?fi(?![a-z])", re.I), "wi-fi"),
)


def _respell(question: str) -> str:
    for pattern, spelling in _RESPELL:
        question = pattern.sub(spelling, question)
    return question


# the viewer speaking of themselves: their numbers are theirs, not the product's
# the viewer speaks of their own measures ("我100斤", "my 2 yr old", "三个月的小奶猫"): not a size of the product
_VIEWER = re.compile(r"我|身高|体重|\bi'?m\b|\bi\s+am\b|\bmy\b|\bi\s+wear\b|\bme\b|个?多?月(?:大|龄)?的?(?:宝宝|孩子|小孩|婴儿|猫|狗|小奶猫|幼猫|幼犬)"
                     r"|岁(?:的)?(?:宝宝|孩子|小孩|猫|狗)|(?:years?|yrs?|months?)\s+old", re.I)
# containers and measure words: "一盒多少克" asks for a weight, not about boxes
_MEASURE = frozenset("盒包袋瓶罐桶个只件套片支颗粒块张条双一")
# a spec of who or what the product fits (a size chart, an age range), not an attribute of the product itself
_SIZING = re.compile(r"码|号|尺寸对照|适用|适合|建议|身高|体重|年龄|月龄|size|fit|guide|chart|age|height|weight\s+range|recommend",
                     re.I)
_TIMES_COUNT = re.compile(r"[\u4e00-\u9fffa-z)）]\s*[×xX]\s*\d+(?![\d.]|\s*(?:cm|mm|m\b|in\b|inch|ml|l\b|升|毫升|厘米))", re.I)
# sentences, and Chinese sentences at their commas; never inside an enumeration (配料：牛肉、香辛料、白砂糖)
_CLAUSE = re.compile(r"(?<=[。！？；;!?\n])|，(?=[^，]{2,})|(?<=\.)\s+(?=[A-Z])")


def _stem(word: str) -> str:
    """A light English stemmer: lasts/lasting/lasted -> last, boxes -> box (enough to match a fact's words)."""
    for suffix in ("ness", "ing", "ed", "es", "s"):  # thickness -> thick
        if len(word) > len(suffix) + 2 and word.endswith(suffix) and not word[-len(suffix) - 1].isdigit():
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word.endswith("e"):  # charge/charging, size/sized
        word = word[:-1]
    return word


_EN_CONTEXT_STEMS = frozenset(_stem(w) for w in _EN_CONTEXT)


def _compounds(text: str) -> list[str]:
    """Hyphenated names as one word each ("usb-a" -> "usba", "usb-c2" -> "usbc2"): "a" alone is a stop word."""
    return [m.group().replace("-", "") for m in _COMPOUND.finditer(fold(text).lower())]


_COMPOUND = re.compile(r"(?<![a-z0-9-])[a-z0-9]+(?:-[a-z0-9]+)+(?![a-z0-9-])")


def tokens(text: str) -> list[str]:
    """Retrieval tokens: English words (not stop words, lightly stemmed), numbers, Chinese characters (not
    question words), character pairs and hyphenated names whole."""
    text = fold(text).lower()
    chars = [c for c in text if _CJK.match(c)]
    out = [c for c in chars if c not in _ZH_STOP]
    out += [a + b for a, b in zip(chars, chars[1:])]
    for w in _WORD.findall(text):
        if w in _EN_STOP:
            continue
        out.append(_stem(w))
        parts = _ALNUM_PART.findall(w)
        if len(parts) > 1:  # "qc4.0", "ip67", "vg10": the letters and the number are words of their own
            out += [p for p in parts if len(p) > 1 or p.isdigit()]
    if "-" in text:
        out += _compounds(text)
    return out


def words(text: str) -> set[str]:
    """Topic words for telling products apart: Chinese character pairs and English words of 2+ letters."""
    text = fold(text).lower()
    chars = [c for c in text if _CJK.match(c)]
    return {a + b for a, b in zip(chars, chars[1:])} | {w for w in _WORD.findall(text) if len(w) > 1 and w not in _EN_STOP}


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[。！？!?；;])|(?<=\.)\s+", text) if s.strip()]


def clauses(text: str) -> list[str]:
    """Short spoken clauses: sentences, and Chinese sentences cut at their commas; never inside a parenthesis
    that closes ("Sheer (untinted; may leave a cast)" is one clause)."""
    return [part for part in (p.strip(" \t\n。.！!？?；;，,、") for p in _top_level(text, _CLAUSE)) if len(part) >= 2]


def _parenthesised(text: str) -> list[tuple[int, int]]:
    """The spans of the parentheses in ``text`` that close (a stray "(" keeps nothing together)."""
    spans, opened = [], []
    for i, c in enumerate(text):
        if c in "(（":
            opened.append(i)
        elif c in ")）" and opened:
            spans.append((opened.pop(), i))
    return spans


def _strip_end(text: str) -> str:
    return text.rstrip("。.!！ ")


@dataclass(frozen=True)
class Fact:
    """One thing the record states, ready to be said."""

    text: str
    field: str  # where it came from: description, title, specs.<name>, selling_points, brand, category, options, terms
    numbers: tuple[Quantity, ...] = ()
    variant: str | None = None  # the variant it is about, if one

    @functools.cached_property
    def kinds(self) -> set[str]:
        kinds = {q.kind for q in self.numbers if q.kind}
        if any(q.unit == "oz" for q in self.numbers):
            kinds.add("volume")  # ounces weigh solids and measure liquids (a 12 oz mug)
        if _TIMES_COUNT.search(self.text):
            kinds.add("count")  # a packing list: "集风嘴×1、顺发风嘴×1"
        return kinds


@dataclass(frozen=True)
class Answer:
    """The facts that answer a question, and the question's words the record does not know."""

    text: str
    unknown: tuple[str, ...] = ()
    pick: tuple[str, ...] = ()  # the options the viewer's own measures point to ("165 55kg穿啥码": M)

    @property
    def sure(self) -> bool:
        return bool(self.text) and not self.unknown


class ProductFacts:
    """What a reply, the selling talk, a model and the gate may draw on for one product."""

    def __init__(self, product: Product, terms: Sequence[str] = (), *,
                 speakable: Callable[[str], bool] | None = None) -> None:
        """``speakable``: whether a fact may be said as it is written (the gate's word lists: "最高支持100W" is an
        absolute term).  A fact that may not is never chosen as an answer; it still backs its numbers."""
        self.product = product
        self._speakable = speakable
        self._muted: frozenset[int] | None = None
        zh = product.lang == "zh"
        facts: list[Fact] = []

        def add(text: str, field: str, variant: str | None = None) -> None:
            text = _strip_end(text.strip())
            if text and all(f.text != text for f in facts):
                facts.append(Fact(text, field, tuple(find_numbers(text)), variant))

        for point in product.selling_points:
            add(point, "selling_points")
        for clause in clauses(product.description):
            add(clause, "description")
        for name, value in product.specs.items():
            yes_no = str(value).strip().lower()
            if not zh and yes_no in ("yes", "no", "true", "false"):  # "Dishwasher safe: No" -> "it is not dishwasher safe"
                add(f"it is {'not ' if yes_no in ('no', 'false') else ''}{name.lower()}", f"specs.{name}")
                continue
            if not zh and re.search(r"\s(?:in|from|for|with|by)$", name.lower()):  # "Made in: Tennessee, USA"
                add(f"it's {name.lower()} {value}", f"specs.{name}")
                continue
            if zh and name.startswith(("是否", "能否", "可否")):  # "是否可折叠：不可折叠" -> "不可折叠"; "是否防水：是" -> "可防水"
                answer = str(value).strip()
                said = {"是": name[2:], "否": f"不{name[2:].removeprefix('可')}", "有": name[2:], "无": f"不{name[2:]}"}
                add(said.get(answer, answer), f"specs.{name}")
                continue
            plural = not zh and re.search(r"[^s']s$", name.lower()) is not None  # "the codecs are AAC, SBC"
            add(f"{name}是{value}" if zh else f"the {name.lower()} {'are' if plural else 'is'} {value}", f"specs.{name}")
        if product.brand:
            add(f"品牌是{product.brand}" if zh else f"the brand is {product.brand}", "brand")
        if product.category:
            add(f"属于{product.category}" if zh else f"it's in {product.category}", "category")
        for name, values in _options(product.variants).items():
            add(f"{name}有{'、'.join(values)}" if zh else f"it comes in {', '.join(values)}", f"options.{name}")
        if product.title:  # last: the title answers what nothing else does ("what does it smell like": Cedar & Fig)
            add(product.title if zh else f"it's the {product.title}", "title")
        self.facts = facts
        self.terms = [_strip_end(t) for t in terms if t.strip()]
        own = [*sentences(product.description), *product.selling_points]
        self.shipping = [t for t in [*terms, *own] if any(w in t.lower() for w in _SHIP_WORDS)]
        self.after_sales = [t for t in [*terms, *own] if any(w in t.lower() for w in _AFTER_WORDS)]
        backing = [product.title, *(f.text for f in facts), *self.terms, *(v.label for v in product.variants)]
        self.numbers = [q for text in backing for q in find_numbers(text)]
        self._index: bm25s.BM25 | None = None
        self._vocabulary: frozenset[str] | None = None
        self._guide: tuple[list[fitting.Rule], list[str], str | None] | None = None

    # ---------------------------------------------------------------- retrieval

    def _docs(self) -> list[list[str]]:
        return [tokens(f.text) + [f"<{k}>" for k in f.kinds] + self._field_words(f) for f in self.facts]

    @staticmethod
    def _field_words(fact: Fact) -> list[str]:
        name = fact.field.split(".", 1)[-1] if "." in fact.field else fact.field
        return tokens(name) if fact.field.startswith(("specs.", "options.", "brand")) else []

    def query(self, question: str) -> list[str]:
        """The question's retrieval tokens: its words, the kinds of quantity it asks about, hint words."""
        question = _respell(question)
        q = fold(question).lower()
        out = tokens(q) + [f"<{kind}>" for pattern, kind in _ASKS if pattern.search(q)]
        for w in [*self._hint_words(q), *translations(q)]:  # a hint's own word (岁), never a stray character of a
            out += tokens(w) if len(w) == 1 else [t for t in tokens(w) if len(t) > 1]  # longer one (手洗 -> 单手)
        return out

    @staticmethod
    def _hint_words(question: str) -> list[str]:
        return [w for pattern, found in _HINTS if _hint_hit(pattern, question) for w in found]

    def search(self, question: str, k: int = 2) -> list[tuple[Fact, float]]:
        """The facts ``question`` is about, best first (score > 0), at most ``k``."""
        if not self.facts:
            return []
        query = [t for t in self.query(question) if t]
        if not query:
            return []
        if self._index is None:
            self._index = _bm25s.BM25()
            self._index.index(self._docs(), show_progress=False)
        vocab = self._index.vocab_dict
        known = [t for t in query if t in vocab]
        if not known:
            return []
        if self._muted is None:
            ok = self._speakable
            self._muted = frozenset(i for i, f in enumerate(self.facts) if ok is not None and not ok(f.text))
        # every fact's score, best first; equal scores keep the record's order (title and
        # description before specs), so a tie is broken the same way on every machine
        scores = self._index.get_scores(known)
        found = [(self.facts[int(i)], float(scores[i])) for i in np.argsort(-scores, kind="stable")
                 if scores[i] > 0 and int(i) not in self._muted]
        return found[:k]

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every retrieval token the record has: its facts, field names, title and option labels."""
        if self._vocabulary is None:
            texts = [self.product.title, *(f.text for f in self.facts), *(v.label for v in self.product.variants)]
            self._vocabulary = frozenset(t for text in texts for t in tokens(text)) | {
                t for f in self.facts for t in self._field_words(f)}
        return self._vocabulary

    def _subject(self, question: str) -> list[tuple[str, str]]:
        """The question's subject words, as (said, token): English words (token: stemmed) and Chinese character
        pairs.  Question words, the words the kind and hint patterns read ("多久", "made of"), stop words and
        words for the viewer's circumstances ("夏天", "for work") are not subjects; nor, for a record in the
        other language, Chinese pairs (they share no characters with it)."""
        text = fold(question).lower()
        read = [m.span() for pattern, _ in (*_ASKS, *_HINTS) for m in pattern.finditer(text)]
        read += [m.span() for m in _QWORDS.finditer(text)]
        read += [(i, i + len(word)) for word in _ZH_CONTEXT for i in find_all(text, word)]
        covered: set[int] = set()
        for begin, end in read:
            covered.update(range(begin, end))
        other_language = (self.product.lang == "zh") == text.isascii()
        out: list[tuple[str, str]] = []
        for m in re.finditer(r"[a-z][a-z0-9'-]*|[\u4e00-\u9fff]{2,}", text):
            word = m.group().split("'")[0]
            if word.isascii():
                if covered & set(range(*m.span())):
                    continue  # a word a pattern read (or part of one): "support" holds "port"
                if len(word) > 2 and word not in _EN_STOP and word not in _EN_CONTEXT:
                    out.append((word, _stem(word)))
                continue
            if other_language:
                continue
            for i, (a, b) in enumerate(zip(word, word[1:])):
                at = m.start() + i
                if at not in covered and at + 1 not in covered and not ({a, b} & (_ZH_STOP | _MEASURE)):
                    out.append((a + b, a + b))
        return out

    def unknown_words(self, question: str) -> list[str]:
        """The question's subject words that no field of the record uses ("LDAC", "起球", "手提袋").  A Chinese
        pair is unknown when neither of its characters is in the record (words are not segmented: a known
        character may be part of a known word)."""
        known = self.vocabulary
        return [said for said, token in self._subject(question)
                if (token not in known if token.isascii() else not set(token) & known)]

    def answer(self, question: str, *, avoid: Callable[[str], bool] | None = None) -> Answer:
        """What the record says about ``question``: the fact (or two) and the question's words they do not cover.

        An answer that leaves a subject word uncovered ("is the lid plastic": the interior is steel; "LDAC": a
        word no field uses) is said with a hedge ("the listing says X; I'll check the rest"): the facts are
        about the question, but what it asks may be something the record does not state."""
        question = _respell(question)
        other = self._other_member(question)
        if other is not None:  # "ldac?" of an AAC/SBC product, "有xxl吗" of S-XL: what it has of that kind
            return Answer(other.text)
        # "衣长多少 155穿会不会拖地": a spec the question names is what it asks, before any size the viewer's height points to
        lowered = fold(question).lower()
        suits = None if any(name in lowered for name in self._attribute_names) else self.fit(question)
        if suits is not None:  # "165 55kg穿啥码", "我家五口人 买哪个": the record's guide, against the viewer's measures
            zh = self.product.lang == "zh"  # a size letter is said "M码" in Chinese
            pick = tuple(f"{o}码" if zh and _SIZE_LETTER.fullmatch(o) else o for o in suits.options)
            return Answer(suits.text, () if suits.sure else ("fit",), pick)
        # "how heavy is the 12 inch one": a size, capacity or temperature the record does not state is something
        # else than what it describes (the viewer's own measures aside: "我100斤")
        stated = [q for q in find_quantities(question) if q.unit and q.kind != "count"]
        if stated and not _VIEWER.search(question) and not all(self.backs(q) for q in stated):
            return Answer("")
        chosen, weak = self._choose(question)
        if (place := asks_destination(question)) and not any(_covers_place(f.text, place) for f in chosen):
            return Answer("")  # "ship to australia": a shipping date or a preorder is not where it ships
        if avoid is not None:
            # "4L的功率多大" of "额定功率是2L 500W / 3L 700W / 4L 860W": only the 4L's part; "how heavy is the 6mm": not a
            # fact of both sizes that cannot be cut to the one asked
            kept = [f if not avoid(f.text) else _narrow(f, avoid) for f in chosen]
            chosen = [f for f in kept if f is not None] or chosen
            if len(chosen) == 2 and _same_content(chosen[0].text, chosen[1].text):
                chosen = chosen[:1]
        if not chosen:
            return Answer("")
        # "which shade for tan skin", "usb-a port how fast": the one item of a listing asked of; another fact stays
        # only for a word of the question the item does not say
        subject = {token for _word, token in self._subject(question)} | set(_compounds(question))
        asked = asks_about_kind(question)
        narrowed = [_narrow_to_words(f, subject, asked) for f in chosen]
        if sum(n is not None for n in narrowed) == 1:
            # the other fact stays when it speaks of the question's subject too ("裙长是中长款（M码约108cm）" beside
            # "裙长108"); not when it is about another item ("the USB-C1 port" beside "the USB-A port up to 22.5W")
            chosen = [n or f for f, n in zip(chosen, narrowed) if n is not None or subject & set(tokens(f.text))]
        said: set[str] = set()
        for fact in chosen:
            said.update(tokens(fact.text))
            said.update(self._field_words(fact))
        title = set(tokens(self.product.title))  # the title's words name the product itself ("这个杯子")
        said |= title
        said_chars = {c for t in said for c in t if _CJK.match(c)}
        long = [t for t in said if t.isascii() and len(t) >= 3]
        uncovered = [word for word, token in self._subject(question)
                     if (token.isascii() and token not in said and not any(token in t or t in token for t in long))
                     or (not token.isascii() and not set(token) - _SOFT <= said_chars)]
        counted = _counted(fold(question).lower())
        if asked and not any(asked & f.kinds or any(p.search(f.text.lower()) for p in counted) for f in chosen):
            # "how many watts": the facts state no wattage
            uncovered.append("<" + "/".join(sorted(asked)) + ">")
        # a topic the hint patterns read ("缩水", "sheath" as an accessory) that no chosen fact speaks of is not
        # answered by them: said with a hedge
        spoken = " ".join(f.text.lower() for f in chosen)
        for pattern, found in _HINTS:
            hit = _hint_hit(pattern, lowered)
            if hit and not any(_hint_in(w.lower(), spoken) for w in found) and not translations(hit.group()):
                uncovered.append(hit.group())
        if weak and not uncovered:
            uncovered = [word for word, _ in self._subject(question)] or ["?"]
        return Answer(self._join(chosen), tuple(uncovered))

    def _other_member(self, question: str) -> Fact | None:
        """The fact that lists a kind of thing (codecs, connectors, sizes) when the question names one of that kind the
        record does not have: "ldac?" of "Supports the AAC and SBC codecs" is answered by it."""
        text = fold(question).lower()
        for family in _FAMILIES:
            asked = {m.group().replace(" ", "") for m in family.finditer(text)}
            if not asked:
                continue
            holders = [f for f in self.facts if family.search(fold(f.text).lower())]
            if not holders:
                return None  # the record says nothing of the kind: not known
            said = {m.group().replace(" ", "") for f in holders for m in family.finditer(fold(f.text).lower())}
            if asked & said:
                return None  # it has what is asked: the facts answer as usual
            return min(holders, key=lambda f: (not f.field.startswith(("specs.", "options.")), len(f.text)))
        return None

    def option_values(self) -> list[str]:
        """Every option value: the variants', and a size or capacity list in the specs of a record without them."""
        values = [v for vs in _options(self.product.variants).values() for v in vs]
        for name, value in self.product.specs.items():
            if _SIZE_SPEC.search(name):
                values += [v.strip() for v in re.split(r"[、/,，|]", str(value)) if 0 < len(v.strip()) <= 8]
        return values

    @functools.cached_property
    def _attribute_names(self) -> tuple[str, ...]:
        """The record's spec names for the product's own attributes (衣长, not a size chart nor an option), folded."""
        values = self.option_values()
        return tuple(fold(name).lower() for name in self.product.specs if len(name) >= 2 and not _SIZING.search(name)
                     and not any(fitting.names_value(name, o) for o in values))

    def fit(self, question: str) -> fitting.Fit | None:
        """Which option the viewer's own measures point to, by the record's guide (see :mod:`scripts_gen.fit`)."""
        if self._guide is None:  # read once per product: its rules, option values and the dimension to go by
            p = self.product  # whole sentences: a clause alone may be part of "模特身高165cm，体重54kg，穿M码"
            colon = "：" if p.lang == "zh" else ": "
            texts = [*sentences(p.description), *p.selling_points, *(f"{k}{colon}{v}" for k, v in p.specs.items())]
            values = self.option_values()
            self._guide = (fitting.rules(texts, values), values, fitting.priority(texts))
        rules, values, first = self._guide
        return fitting.fit(question, rules, values, first=first) if rules else None

    def best_fact(self, question: str) -> str:
        """The fact (or two) that answer ``question`` as one spoken line, or "" when no fact is about it."""
        return self._join(self._choose(_respell(question))[0])

    def _join(self, chosen: list[Fact]) -> str:
        sep = "，" if self.product.lang == "zh" else "; "
        return sep.join(f.text for f in chosen)

    def _choose(self, question: str) -> tuple[list[Fact], bool]:
        """The fact (or two) that answer ``question`` and whether the match is weak; [] when no fact is about
        it (then: no invention).

        A fact answers when it states a number of the kind asked (a weight for "多重") and shares the
        question's topic words, or shares a topic word, or has a word the question's topic is written with in
        catalogs (materials for "什么材质").  Two facts are said when the second answers as well.  When none
        does, the best match sharing only a character ("炒" of 手工炒制 for "机器炒的吗") is a weak answer
        (said with a hedge), unless the question asks for a kind of number that fact does not state.
        ``question`` is respelled already (see answer and best_fact).
        """
        option = self._option_list(question)
        if option is not None:
            return [option], False
        found = self.search(question, k=5)
        if not found:
            return [], False
        folded = fold(question).lower()
        asked = asks_about_kind(question)
        hints = [w.lower() for w in self._hint_words(folded)]
        translated = [w.lower() for w in translations(folded)]
        topic = _topic(question)
        core = topic - _circumstances(question)  # what must be shared when the kind asked is matched
        if asked or hints:
            # "这牛肉哪儿产的": 牛肉 names the product (its title), the question is about the origin; a fact sharing only
            # the product's own name is not about what is asked
            named = set(tokens(self.product.title))
            topic, core = {t for t in topic if t not in named}, {t for t in core if t not in named}
        # a question in another language than the record shares no words with it: kinds and hints must do
        other_language = (self.product.lang == "zh") == folded.isascii()
        judged = []
        counted = _counted(folded)
        weak, weak_fact = False, found[0][0]
        for rank, (fact, _score) in enumerate(found):
            text = fact.text.lower()
            # numbers in a question name an option ("31码腰围多少厘米"), not what it is about ("304还是316")
            words = {t for t in core if not t.isdigit()} or {t for t in topic if t.isdigit()}
            shared = words & set(tokens(fact.text) + self._field_words(fact))
            multi = [t for t in words if len(t) > 1]
            chars = {t for t in words if len(t) == 1}
            # a word, or most of the question's characters (the pairs may straddle words: "的水泡" -> 水, 泡)
            strong = any(len(t) > 1 for t in shared) or (bool(shared) and not multi) or (
                len(chars) >= 2 and len(shared & chars) * 2 >= len(chars))
            exact = any(len(t) > 1 for t in shared)
            if any(w in text for w in translated):  # the question's word in the record's language
                strong = exact = True
            kind = bool(asked & fact.kinds) or any(p.search(text) for p in counted)  # "how many layers": "67-layer"
            judged.append((fact, kind, strong, any(_hint_in(h, text) for h in hints), rank, exact))
            if rank == 0:
                weak = bool(shared) and (not asked or bool(asked & fact.kinds))
                weak_fact = fact
        any_kind = any(j[1] for j in judged)
        category = bool(_CATEGORY.search(folded))

        def tier(j: tuple[Fact, bool, bool, bool, int, bool]) -> tuple[int, int]:
            _fact, kind, strong, hinted, rank, exact = j
            order = ((kind and exact), (exact and hinted), (kind and strong), (kind and hinted), exact, kind, strong or hinted)
            return next((i for i, good in enumerate(order) if good), len(order)), rank

        chosen: list[Fact] = []
        for fact, kind, strong, hinted, _rank, _exact in sorted(judged, key=tier):
            if kind:
                ok = not core or strong or hinted or other_language
            elif asked:
                ok = hinted and (strong or other_language or not any_kind)
            else:  # a question of an attribute ("什么牌子"): a fact stating it answers, the others only weakly
                ok = hinted or (strong and not category)
            if ok:
                chosen.append(fact)
            if len(chosen) == 2:
                break
        if not chosen:
            if weak:
                return [weak_fact], True
            # the number of the kind asked, or a fact sharing a word: said with a hedge ("放多久会坏": 保质期9个月)
            for fact, kind, _strong, _hinted, _rank, exact in judged:
                if kind or (exact and not asked):
                    return [fact], True
            return [], False
        limit = 44 if self.product.lang == "zh" else 180  # characters: one spoken answer
        if len(chosen) == 2 and ((asked and not asked & chosen[1].kinds) or len(chosen[0].text) + len(chosen[1].text) > limit
                                 or _same_content(chosen[0].text, chosen[1].text)):
            chosen = chosen[:1]
        return chosen, False

    def _option_list(self, question: str) -> Fact | None:
        """The options of one kind when the question asks which there are ("bag sizes?", "有哪些口味", "what grind
        options"), or, in a few words, names a colour the product does not come in ("pink??" of black, white and
        green).  "What size should I get" or "what size is the model wearing" ask something else."""
        text = fold(question).lower()
        lists = [(f, _option_words(f.field.split(".", 1)[1].lower())) for f in self.facts if f.field.startswith("options.")]
        for fact, words in lists:
            if any(_asks_which(text, w) for w in words):
                return self._option_for_use(fact, question, words) or self._options_with(fact, text)
        colour = _COLOUR_WORD.search(text)
        if colour is not None and len(_WORD.findall(text)) + len(_CJK.findall(text)) <= 6:
            for fact, words in lists:
                if "colour" in words and colour.group() not in fold(fact.text).lower():
                    return fact  # a colour it does not come in: the colours it does
        return None

    def _option_for_use(self, listed: Fact, question: str, words: tuple[str, ...]) -> Fact | None:
        """"brewing on a v60 which grind": a fact that names the question's own subject and one option of the kind
        asked ("Pour-Over (medium-fine) for V60 and Chemex") answers it better than the list."""
        name = listed.field.split(".", 1)[1]
        values = list(dict.fromkeys(v.options[name] for v in self.product.variants if name in v.options))
        subject = {token for _, token in self._subject(question)
                   if not any(token in w or w in token for w in words) and not any(fitting.names_value(token, v) for v in values)}
        if not subject:
            return None
        for fact in self.facts:
            if fact.field.startswith(("options.", "title")) or not subject & set(tokens(fact.text)):
                continue
            if sum(fitting.names_value(fact.text, v) for v in values) == 1:
                return fact
        return None

    def _options_with(self, fact: Fact, text: str) -> Fact:
        """The options of ``fact``'s kind among the variants that have the other options ``text`` names ("what colors
        come in the 28 inch?": the 28-inch's colours, not every colour)."""
        name = fact.field.split(".", 1)[1]
        named = {(k, v) for variant in self.product.variants for k, v in variant.options.items()
                 if k != name and fitting.names_value(text, v)}
        if not named:
            return fact
        values = list(dict.fromkeys(v.options[name] for v in self.product.variants if name in v.options
                                    and all(v.options.get(k) == val for k, val in named)))
        if not values:
            return fact
        said = " ".join(val for _, val in sorted(named))
        zh = self.product.lang == "zh"
        return Fact(f"{said}的{name}有{'、'.join(values)}" if zh else f"the {said} comes in {', '.join(values)}", fact.field)

    @staticmethod
    def best_term(question: str, pool: list[str]) -> str:
        """The shop term or product sentence that answers a shipping or after-sales question, or "" when none
        speaks of what is asked: where it ships ("ship to australia" is not answered by a shipping date), or
        which promise (a warranty does not answer "return policy")."""
        text = fold(question).lower()
        if place := asks_destination(text):
            pool = [t for t in pool if _covers_place(t, place)]
        asked_about = [says for asks, says in _AFTER_TOPICS if asks.search(text)]
        if asked_about:
            pool = [t for t in pool if any(w in fold(t).lower() for says in asked_about for w in says)]
        if not pool:
            return ""
        asked = words(question)
        ranked = sorted(pool, key=lambda t: len(asked & words(t)), reverse=True)
        return _strip_end(ranked[0])

    # ---------------------------------------------------------------- what the record backs

    def backs(self, quantity: Quantity) -> bool:
        """Whether the record (or the shop's terms) states this number."""
        return any(quantity.same(q) for q in self.numbers)

    def backing(self, quantity: Quantity) -> Fact | None:
        """The fact of the record that states this number (None: not a fact, e.g. only the shop's terms)."""
        return next((f for f in self.facts if any(quantity.same(q) for q in f.numbers)), None)

    def mentions(self, text: str) -> bool:
        """Whether ``text`` talks about this product: shares a content word with its facts, options or title."""
        words = {t for t in tokens(text) if len(t) > 1 or _CJK.match(t)}
        if not words:
            return False
        vocab = {t for f in self.facts for t in tokens(f.text)} | set(tokens(self.product.title))
        return bool(words & vocab)


_QUESTION_PAIRS = frozenset("多少 什么 怎么 多久 多大 多长 多重 几个 哪里 哪个 是不 不是 可以 能不 有没 没有 能用 吗 么 呢 "
                            "这个 这款 一个 请问 主播 现在 还是 到底 一下".split())


# unit words a question asks in ("多少瓦", "how many lumens"): facts write the unit as a symbol (65W, 1200lm)
_UNIT_WORDS = re.compile(r"(?:多少|几)(?:瓦|流明|毫安时?|伏|赫兹|分贝|转|帧|寸|英寸)|(?<![a-z])(?:watts?|lumens?|volts?|mah|hertz|hz"
                         r"|decibels?|db|rpm|fps|inch(?:es)?|kelvin)(?![a-z])")


_DESTINATION = re.compile(r"\b(?:ship(?:s|ped|ping)?|deliver(?:s|y|ed)?|send|post)\s+(?:it\s+|them\s+)?(?:to|into)\s+"
                          r"(?!me\b|you\b|my\b|your\b)(?:the\s+)?([a-z][a-z]+(?:\s+[a-z]+)?)"
                          r"|(?:寄|发|送|邮|运)(?:到|去|往)([\u4e00-\u9fff]{2,6}?)(?:吗|么|嘛|不|没|可以|能|的|$)")
_EVERYWHERE = ("worldwide", "international", "anywhere", "all countries", "全球", "国际", "海外")


_HEAD = re.compile(r"^(.*?(?:是|：|:\s|\bis\s|\bare\s))")
_PARTS = re.compile(r"\s*(?:/|；|;|，|,|\|)\s*")


def _narrow(fact: Fact, avoid: Callable[[str], bool]) -> Fact | None:
    """The parts of a fact listing a value per option that are about the options asked of (None: no such part).
    The title is a name, not a listing: it is never cut."""
    if fact.field == "title":
        return None
    head_match = _HEAD.match(fact.text)
    head = head_match.group(1) if head_match else ""
    body = fact.text[len(head):]
    parts = _paired(body) or [p for p in _PARTS.split(body) if p]
    if len(parts) < 2:
        return None
    kept = [p for p in parts if not avoid(p)]
    if not kept or len(kept) == len(parts):
        return None
    text = head + " / ".join(kept)
    return Fact(text, fact.field, tuple(find_numbers(text)), fact.variant)


_PARALLEL = re.compile(r"^(?P<values>[^()（）]+?)\s*[(（](?P<keys>[^()（）]+)[)）]\s*$")


def _paired(body: str) -> list[str]:
    """A value per option written as two parallel lists, "6.5 kg / 7.2 kg / 7.9 kg (12 / 14 / 16 inch)", as one part
    per option ("6.5 kg (12 inch)"); [] when ``body`` is not written so."""
    m = _PARALLEL.match(body)
    if m is None:
        return []
    values = [v.strip() for v in re.split(r"\s*/\s*", m["values"])]
    keys = [k.strip() for k in re.split(r"\s*/\s*", m["keys"])]
    if len(values) != len(keys) or len(values) < 2 or not all(values) or not all(keys):
        return []
    unit = re.fullmatch(r"[\d.]+\s*(\D.*)", keys[-1])  # "16 inch": the unit the numbers before it share
    if unit is not None:
        keys = [f"{k} {unit.group(1)}" if re.fullmatch(r"[\d.]+", k) else k for k in keys]
    return [f"{v} ({k})" if body.isascii() else f"{v}（{k}）" for k, v in zip(keys, values)]


def _narrow_to_words(fact: Fact, subject: set[str], asked: set[str]) -> Fact | None:
    """The one item of a listing fact that a subject word of the question names and no other item does ("which
    shade for tan skin" of "Shades: Sheer (...), Light Tint (for fair to light skin), Medium Tint (for light-medium
    to tan skin)"), said with the listing's lead; None when no single item is named."""
    if fact.field.startswith("options."):
        return None  # "does it come in red": the options are said whole ("it comes in Red, Sky Blue, Mint")
    head_match = _HEAD.match(fact.text)
    head = head_match.group(1) if head_match else ""
    body = fact.text[len(head):]
    parts = _top_level(body, _PARTS)
    if len(parts) < 2:  # "USB-C2 gives up to 30W and the USB-A port up to 22.5W": a value each
        parts = _top_level(body, _AND)
    if len(parts) < 2 or (len(parts) == 2 and not all(re.search(r"\d", p) for p in parts)):
        return None
    if not all(_item(p, len(parts)) for p in parts):
        return None  # "304 stainless steel, so no plastic touches the water, and ...": a sentence, not a listing
    words = [set(tokens(p)) for p in parts]
    common = set.intersection(*words)
    named = [i for i, w in enumerate(words) if (subject - common) & w]
    if len(named) != 1:
        return None
    item = parts[named[0]].strip()
    if not head and len(_WORD.findall(item.lower())) + len(re.findall(r"[\u4e00-\u9fff]", item)) < 3:
        return None  # a bare word out of its listing says nothing on its own
    text = head + item
    narrowed = Fact(text, fact.field, tuple(find_numbers(text)), fact.variant)
    return narrowed if not asked or asked & narrowed.kinds else None  # "how long does the battery last": its hours


def _item(part: str, count: int) -> bool:
    """A part of a listing: a name with its note in parentheses ("Light Tint (for fair to light skin)"), or a value
    ("USB-C2 gives up to 30W"); not a clause of a sentence."""
    bare = re.sub(r"[(（][^()（）]*[)）]", "", part)
    size = len(_WORD.findall(bare.lower())) + len(re.findall(r"[\u4e00-\u9fff]", bare)) // 2
    return size <= 4 if count >= 3 and not re.search(r"\d", bare) else size <= 8 and bool(re.search(r"\d", bare))


_AND = re.compile(r"\s+and\s+|\s*(?:以及|和|及)\s*")


def _top_level(text: str, separator: re.Pattern[str]) -> list[str]:
    """``text`` cut at ``separator`` outside parentheses."""
    inside = _parenthesised(text)
    parts, start = [], 0
    for m in separator.finditer(text):
        if not any(a < m.start() < b for a, b in inside):
            parts.append(text[start:m.start()])
            start = m.end()
    return [p for p in (*parts, text[start:]) if p.strip()]


def asks_destination(question: str) -> str:
    """The place a viewer asks the product be shipped to ("ship to australia", "能寄到新疆吗"), or ""."""
    m = _DESTINATION.search(fold(question).lower())
    return (m.group(1) or m.group(2) or "").strip() if m else ""


def _covers_place(text: str, place: str) -> bool:
    lowered = fold(text).lower()
    return place.split()[0] in lowered or any(w in lowered for w in _EVERYWHERE)


# the names an option's kind goes by ("Size" is asked as "sizes", "尺码", "规格")
_DIMENSIONS: tuple[tuple[str, ...], ...] = (
    ("size", "sizes", "尺码", "码数", "规格", "大小", "容量"),
    ("color", "colour", "colors", "colours", "颜色", "色号", "配色", "色"),
    ("flavor", "flavour", "flavors", "flavours", "口味", "味道"),
    ("scent", "scents", "香型", "香味"),
    ("style", "styles", "款式"),
    ("pack", "packs", "装"),
)
_OPTION_ASK_EN = r"(?:do\s+you\s+have|are\s+there|(?:are\s+)?available|options?|choices?|(?:does\s+it\s+|do\s+they\s+)?comes?\s+in|can\s+i\s+(?:get|choose|pick))"
_OPTION_ASK_ZH = "有哪些|有几种|有什么|哪几种|几种|几个|哪些|都有|可选|可以选"


def _option_words(name: str) -> tuple[str, ...]:
    """What an option kind is asked as: its name and, for a kind :data:`_DIMENSIONS` knows, all of its names."""
    group = next((g for g in _DIMENSIONS if name in g or any(w in name for w in g if len(w) > 1)), ())
    return (name, *group)


def _asks_which(text: str, word: str) -> bool:
    """Whether ``text`` asks which options of kind ``word`` there are (not which one fits, nor "color temp")."""
    w = re.escape(word)
    if word.isascii():
        if re.search(rf"(?<![a-z]){w}s?\s*temp", text):
            return False
        plural = word.endswith("s") or re.search(rf"(?<![a-z]){w}s(?![a-z])", text)
        named = plural and re.search(rf"(?<![a-z]){w}", text)
        return bool(named or re.search(rf"(?<![a-z]){w}s?\s+{_OPTION_ASK_EN}", text)
                    or re.search(rf"(?:what|which|any|other)\s+(?:\w+\s+)?{w}s?\s+{_OPTION_ASK_EN}", text)
                    or re.fullmatch(rf"\W*{w}s?\W*", text))
    return bool(re.search(rf"(?:{_OPTION_ASK_ZH}){w}|{w}(?:{_OPTION_ASK_ZH}|齐|全)", text)
                or re.fullmatch(rf"\W*{w}\W*", text))


_COLOUR_WORD = re.compile(r"(?<![a-z])(?:red|pink|blue|green|black|white|grey|gray|yellow|purple|orange|brown|beige|navy|"
                          r"silver|gold|rose)(?![a-z])|[红粉蓝绿黑白灰黄紫橙棕银金]色")


# after-sales promises are not interchangeable: (what the question asks, words of a term that answers it)
_AFTER_TOPICS = (
    (re.compile(r"退货|退款|退钱|退换|能退|可以退|包退|无理由|returns?\b|refund|money\s+back"),
     ("退", "无理由", "return", "refund", "money back")),
    (re.compile(r"保修|质保|保固|维修|warrant|guarantee|repair"), ("保修", "质保", "保固", "维修", "warrant", "guarantee", "repair")),
    (re.compile(r"换货|调换|退换|能换|exchange|swap"), ("换", "exchange", "swap")),
)


def _mentions(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![a-z]){re.escape(word)}", text) is not None
    return word in text


def _same_content(a: str, b: str) -> bool:
    """Two facts that say the same ("保质期是9个月" from the specs, "保质期9个月" from the description): said once."""
    a, b = fold(a).lower(), fold(b).lower()
    if re.findall(r"\d+(?:\.\d+)?", a) != re.findall(r"\d+(?:\.\d+)?", b):
        return False
    ca, cb = (set(re.sub(r"[\W_]", "", t)) for t in (a, b))
    return bool(ca and cb) and len(ca & cb) / len(ca | cb) >= 0.7


def _topic(question: str) -> set[str]:
    """What the question is about: its tokens less the question words ("多少", "what", "how long"), the unit
    it asks in, the measure words ("一盒多少克" asks for a weight) and the words for the viewer's
    circumstances."""
    text = _QWORDS.sub(" ", _UNIT_WORDS.sub(" ", fold(question).lower()))
    return {t for t in tokens(text)
            if t not in _QUESTION_PAIRS and (t.isascii() or not any(c in _ZH_STOP or c in _MEASURE for c in t))}


def _circumstances(question: str) -> set[str]:
    """The question's tokens that are words for the viewer's circumstances ("里面", "for work")."""
    text = fold(question).lower()
    found = {t for word in _ZH_CONTEXT if word in text for t in tokens(word)}
    return found | {t for t in tokens(text) if t in _EN_CONTEXT_STEMS}


def _options(variants: Sequence[Variant]) -> dict[str, list[str]]:
    """Option name -> its values over the variants, in order (``{"容量": ["500ml", "750ml"]}``)."""
    out: dict[str, list[str]] = {}
    for v in variants:
        for name, value in v.options.items():
            values = out.setdefault(name, [])
            if value not in values:
                values.append(value)
    return out


# kinds of thing a record lists the members it has of; a question naming another member is answered by that list
_FAMILIES = (
    re.compile(r"(?<![a-z0-9])(?:ldac|aptx(?:\s?(?:hd|adaptive|lossless))?|aac|sbc|lc3|lhdc)(?![a-z0-9])"),  # bluetooth codecs
    re.compile(r"(?<![a-z0-9-])(?:usb[\s-]?c|type[\s-]?c|lightning|micro[\s-]?usb|usb[\s-]?a)(?![a-z0-9])"),  # connectors
    re.compile(r"(?<![a-z0-9])(?:xxs|xs|xxxl|xxl|[2-6]xl|xl)(?![a-z0-9])|(?<![a-z0-9])[sml](?=码|號|号)"),  # sizes
)
_SIZE_LETTER = re.compile(r"X{0,3}[SML]|\dXL|\d{2,3}", re.I)
_SIZE_SPEC = re.compile(r"尺码|码数|尺寸|^size|sizes|容量|规格|capacity", re.I)
_REGULAR_QUESTION = re.compile(r"原价|不打折|没打折|不优惠|平时|划线价|吊牌价|(?:normal|regular|usual|full|list|original)(?:ly)?"
                               r"(?!\s+(?:size|fit|cut))|msrp|rrp|\bbefore\b|not\s+on\s+sale|without\s+(?:the\s+)?(?:sale|discount)",
                               re.I)


def asks_about_offer(question: str) -> bool:
    """A price question that is really about coupons, gifts or discounts."""
    return bool(_OFFER_QUESTION.search(question)) and not asks_regular_price(question) and not asks_sale_end(question)


_UNTIL_QUESTION = re.compile(r"到(?:什么时候|啥时候|哪天|几号|几月)|什么时候(?:结束|截止|恢复|涨)|截止|还有几天|持续到|活动.{0,4}多久"
                             r"|(?:un)?til+\s+when|when\s+(?:does|will|is)\s+(?:the\s+)?(?:sale|deal|discount|offer)\s+(?:end|over|finish)"
                             r"|how\s+long\s+(?:is|does|will)\s+(?:the\s+)?(?:sale|deal|discount|offer|price)|sale\s+ends?|ends?\s+when",
                             re.I)


def asks_sale_end(question: str) -> bool:
    """A price question about when the sale ends ("活动到什么时候", "til when is the sale")."""
    return bool(_UNTIL_QUESTION.search(question))


def asks_regular_price(question: str) -> bool:
    """A price question about the price without the sale ("原价多少", "regular price?")."""
    return bool(_REGULAR_QUESTION.search(question))


_HOW_MANY = re.compile(r"how\s+many\s+([a-z]{3,})|(?:几|多少)([层片张粒颗包袋节格档孔口芯头色款种只个])")
_COUNT_NOUNS = {"层": "(?:layer|ply)", "片": "(?:piece|sheet|slice)", "张": "sheet", "粒": "(?:capsule|tablet)",
                "节": "batter", "档": "(?:setting|level|speed|mode)", "孔": "hole", "口": "port", "色": "colou?r"}
_NUMERAL = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千]+)"


def _counted(question: str) -> list[re.Pattern[str]]:
    """For "how many layers" / "几层": a number written with that noun ("67-layer", "67 layers", "三层") states the
    count asked for, whatever kind of quantity the unit reader makes of it."""
    out = []
    for m in _HOW_MANY.finditer(question):
        if m.group(1):
            out.append(re.compile(rf"\d+\s*-?\s*{re.escape(_stem(m.group(1)))}", re.I))
        else:
            noun = _COUNT_NOUNS.get(m.group(2))
            out.append(re.compile(rf"{_NUMERAL}\s*{re.escape(m.group(2))}" + (rf"|\d+\s*-?\s*{noun}" if noun else ""), re.I))
    return out


def asks_about_kind(question: str) -> set[str]:
    """The kinds of quantity a question asks about (weight, duration...)."""
    q = fold(question).lower()
    kinds = {kind for pattern, kind in _ASKS if pattern.search(q)}
    # "how many calories", "几个小时": a count word with a more specific kind asks for that kind
    return kinds - {"count"} if len(kinds) > 1 else kinds


def product_facts(product: Product, lang: str, now: datetime, facts: Sequence[str] = ()) -> dict[str, Any]:
    """What a model is told about a product (as quoted JSON data): catalog facts only, prices as spoken.

    ``facts``: the facts retrieved for the question (all of the product's when empty); ``variants``: each
    variant's price now, availability and stock.
    """
    return {
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": spoken_money(product.price_at(now), product.currency, lang),
        "price_is_from": product.prices_differ(now),
        "regular_price": spoken_money(product.price, product.currency, lang),
        "on_sale": product.on_sale_at(now),
        "sale_ends": product.sale_end.isoformat() if product.sale_active(now) and product.sale_end else None,
        "stock": product.stock,
        "in_stock": product.in_stock,
        "availability": product.availability,
        "specs": dict(product.specs),
        "selling_points": list(product.selling_points),
        "description": product.description,
        "facts": list(facts),
        "variants": [{
            "id": v.id, "name": v.label, "options": dict(v.options),
            "price": spoken_money(product.variant_price_at(v, now), product.currency, lang),
            "in_stock": product.variant_in_stock(v), "availability": product.variant_availability(v), "stock": v.stock,
        } for v in product.variants],
    }


__all__ = ["Fact", "ProductFacts", "asks_about_kind", "asks_about_offer", "asks_regular_price", "asks_sale_end", "clauses", "product_facts", "sentences",
           "tokens", "words"]
