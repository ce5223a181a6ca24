"""What a viewer comment is about: precompiled keyword rules, Chinese and English, on normalized text.

INJECTION and ABUSE first (a humanity question wins over INJECTION only when
every trigger lies inside it), then ARE_YOU_HUMAN, the shopping intents by
value, GREETING; anything else is OFF_TOPIC.  The rules run on a "scan
view" of the :func:`~scripts_gen.text.normalize`-d text (see below).
"""

from __future__ import annotations

import enum
import functools
import re

from scripts_gen.prefilter import Prefiltered
from scripts_gen.rules.numbers import CN_NUM, DIGITS


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
    HEALTH = "health"  # efficacy or medical questions: only a safe answer


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
    # first: at the same position these beat 是真人, so 主播是真人扮演的吗 is one match (see classify_phrase)
    rf"是?(?:不是)?{_HUMAN_WORDS}(?:在)?(?:扮演|假扮|冒充|配音)的?(?:{_ASKED}|还是)|(?:在)?(?:扮演|假扮|冒充)(?:成)?(?:真人|人类)的?{_ASKED}",
    r"是(?:不是)?(?:真人|真的人|活人)(?!秀|图|照|版|试|穿|模特|实拍|拍|测|演示|尺|大小)",
    r"是(?:不是)?(?:机器人|ai(?![a-z])|人工智能|人工智慧|虚拟人|数字人|虚拟主播|数字主播|人机|假人|bot(?![a-z])|robot)",
    r"(?:真人|活人|机器人|人工智能|虚拟人|数字人|人机|假人)(?:吗|么|嘛|吧|\?|还是)|(?<![a-z])ai(?:主播)?(?:吗|么|嘛|吧|\?|还是)",
    r"(?:告诉我|承认|说)(?:你|您)?(?:是)?(?:真人|活人|人类|真的人)|(?:你|您|主播)(?:到底|究竟)是(?:不是)?(?:人|真人|ai)",
    r"有没有真人|真人在(?:后面|背后|说话|讲)|背后(?:有|是)(?:真人|人)|证明(?:你|您)?是(?:人|人类|真人)|chatgpt|gpt|大模型|语言模型|是不是程序",
    r"(?:你|您|主播)是人(?:吗|么|嘛|\?|还是)|是个?人还是|人还是(?:ai|机器|机器人|人工智能|虚拟)",
    # a recording, an automatic reply, someone typing, a made-up host, pinyin
    r"录播|录屏|录好的|提前录|录制的|直播还是录|自动回复|(?:机器|程序|脚本)(?:在)?(?:回复|回答|说话|讲)|是(?:不是)?(?:程序|脚本)",
    r"(?:有|是)(?:真人|人)在(?:打字|回复|回答|操作|说话)|后台(?:有|是)(?:人|真人)|谁在(?:回复|打字|说话)",
    r"(?:你|您|主播|这个主播)(?:是)?(?:不是)?(?:假的|虚拟的|合成的|生成的|ai换脸|换脸的)",
    r"真人(?:主播|直播)(?:吗|么|嘛|吧|\?|还是)|(?:本人|真人)出镜|还是(?:虚拟|数字人|ai|机器|合成)",
    r"zhen\s*ren|ji\s*qi\s*ren|shu\s*zi\s*ren|(?:ni|zhu\s*bo)\s*shi\s*(?:ai|ren|ji\s*qi)",
    # the host (or its voice) asked to be a machine, a computer, synthesised, someone's own self, in any order
    r"(?:你|您|主播|小姐姐|小哥哥|这个人|声音).{0,8}(?:是|像)(?:不是)?(?:电脑|机器|程序|合成|本人|🤖)|是(?:不是)?🤖|🤖(?:吗|么|嘛|\?)"
    r"|(?:电脑|机器)合成|合成的(?:吗|么|嘛|吧|\?|声音|人)",
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
        r"(?:tell\s+(?:me|us)|say|admit|confirm|swear|promise(?:\s+(?:me|us))?)\s+(?:that\s+)?(?:you'?re|you\s+are|u\s+r|ur)\s+(?:a\s+)?"
        r"(?:real|human|person|alive|not\s+(?:an?\s+)?(?:ai|bot|robot|machine))",
        r"(?:are|r)\s+(?:you|u)\s+(?:a\s+)?(?:live|living)\s+(?:human|person|host)|is\s+(?:this|it)\s+(?:a\s+)?live\s+person",
        r"are\s*(?:you|u)\s*(?:a\s*)?(?:human|real|bot|robot|ai|person)|(?:you'?re|you\s+are|ur)\s+(?:a\s+)?real\s+\w+",
        r"(?:is\s+there|are\s+there)\s+(?:a\s+|an?\s+actual\s+|a\s+real\s+)?(?:person|human|people|someone)\s+(?:behind|talking|speaking)",
        r"(?:actual|real|live)\s+(?:human|person)\s+host|(?:talking|speaking|chatting)\s+to\s+(?:a\s+)?(?:software|program|computer|machine)",
        r"(?:not|no)\s+an?\s+(?:ai|bot|robot)\s*(?:r\s*u|are\s+you|right)|(?:chat)?gpt|language\s+model|prove\s+(?:you'?re|you\s+are)\s+(?:human|real)",
        r"say\s+['\"]?i\s*(?:'m|am)\s+(?:not\s+(?:an?\s+)?(?:ai|bot|robot|machine)|(?:a\s+)?(?:human|real))",
        r"(?:you'?re|you\s+are|ur)\s+not\s+(?:an?\s+)?(?:ai|bot|robot)|bet\s+(?:you'?re|you\s+are)\s+(?:a\s+)?real",
        # a recording, automation, someone typing, "is the host real"
        r"(?:is\s+(?:this|it|the\s+stream)|are\s+(?:you|u))\s+(?:a\s+)?(?:pre[\s-]?)?record(?:ed|ing)|live\s+or\s+(?:an?\s+)?(?:pre[\s-]?)?record(?:ed|ing)"
        r"|recorded\s+or\s+live|pre[\s-]?recorded",
        r"(?:is\s+(?:this|it|the\s+chat|the\s+host)|are\s+(?:these|the)\s+(?:replies|answers))\s+automat\w*|auto[\s-]?(?:reply|replies|generated)"
        r"|(?:someone|somebody|anyone|anybody|a\s+person)\s+(?:actually\s+|really\s+)?(?:typing|there|reading|replying|answering)"
        r"|who\s+(?:am\s+i|are\s+we)\s+(?:talking|speaking|chatting)\s+(?:to|with)",
        r"is\s+(?:this|she|he|the\s+host|the\s+streamer|the\s+presenter|this\s+(?:host|streamer|presenter))\s+(?:a\s+)?real\b",
        r"(?:human|real|ai|bot|robot)\s*\?*\s*or\s+(?:not|nah|no|nope)\b|\b(?:ai|bot)\s+or\s+(?:human|real|nah|not)\b|\bb0t\b|\br0bot\b",
        r"(?:real|human|person|people)\s+or\s+(?:an?\s+)?(?:avatar|cgi|virtual|fake|animation|cartoon|program|software|computer|machine"
        r"|bot|robot|ai)\b"
        r"|(?:avatar|cgi|virtual|fake)\s+or\s+(?:a\s+)?(?:real|human|person)|do\s+(?:you|u)\s+have\s+a\s+body",
    ),
)
# the host named with a machine word nearby ("you sound like siri lol are you one of those AI things"): a humanity
# question when it is a question and nothing abusive ("fuck you bot" is abuse)
_HUMAN_LOOSE = re.compile(
    r"(?<![a-z])(?:you|u|ya|host|presenter|streamer|she|he)(?![a-z]).{0,40}(?<![a-z])(?:ai|a\.i\.|bots?|b0t"
    r"|robot(?!\s+(?:vacuum|mop|toy))|siri|alexa|software|computer[\s-]generated|cgi|synthetic|synthesi[sz]ed|ai[\s-]generated"
    r"|deepfake|avatar|not\s+(?:a\s+)?real)(?![a-z])", re.I | re.S)

_ASKS_HOST = re.compile(r"(?<![a-z])(?:are|r|is)\s+(?:you|u|ya|she|he|this|the\s+host)(?![a-z])", re.I)

_HEALTH = _any(
    r"降血压|降血糖|降血脂|降三高|高血压|血压|血糖|血脂|糖尿病|胆固醇|治(?:疗|病|好|愈)|能治|根治|疗效|功效|药效|减肥|瘦身|掉秤|排毒|祛痘|痘痘|"
    r"美白|淡斑|祛斑|抗衰|抗老|去皱|失眠|助眠|免疫力|养胃|护肝|养肝|补钙|补血|壮阳|癌|发炎|消炎|湿疹|孕妇|哺乳期|吃药|药物|医生|生病|病人|"
    r"便秘|通便|脱发|掉发|防脱|生发|头皮屑|心脏病|心脑血管|哮喘|鼻炎|咳嗽|感冒|发烧|关节|颈椎|腰椎|自闭|多动|近视|保健|"
    r"胃病|胃痛|胃不好|痛风|长高|长个子|焦虑|抑郁|皮炎|皮肤病|炎症|贫血|三高|甲状腺|痔疮|溃疡|结节|妇科|痛经|更年期|"
    r"(?:头|腰|背|胃|肚子|牙|膝盖|肩|颈)(?:疼|痛)|对.{1,6}(?:有好处|有帮助|有效果?|管用)(?:吗|么|嘛|\?|没)|能缓解|缓解.{1,6}(?:吗|么|嘛|\?)|"
    r"心脏病?|肾病|肾衰|结石|尿血|血尿|便血|尿结晶|尿路|泌尿|[\u4e00-\u9fff]炎(?![热夏日黄帝])|矫正|矫形|感统|失调|康复|理疗|治疗|肌张力|[OoXx]型腿|驼背|扁平足|发育迟缓|怀孕|孕期|胎儿|备孕|妊娠|黄褐斑|色斑|老年斑|淡化.{0,3}斑|疤痕|房颤|心律不齐|呼吸暂停|"
    r"(?:能|可以)?修复(?:吗|么|嘛|\?)|减脂|燃脂|刮油|能瘦|瘦(?:吗|么|嘛|身|腿|脸|肚子)|出血|流血|伤口|感染|肺炎|病毒|冻疮|静脉曲张|"
    # a condition and whether it goes away with the product ("宝宝红屁屁用这个能好吗"): efficacy, whatever the condition
    r"(?:红屁屁|尿布疹|红疹|疹子|痱子|过敏|瘙痒|发痒|皲裂|干裂|晒伤|烫伤|蚊子包|红肿|长痘|闭口|粉刺|口腔溃疡|脚气|灰指甲)"
    r".{0,10}(?:能好|会好|好得|管用|有用|有效|能消|消得|去得掉|治)|(?:用|擦|抹|涂|吃|喝)(?:这个|了)?.{0,4}(?:能好|会好)(?:吗|么|嘛|不|\?)",
    _en(
        r"cures?|curing|treats?|treatment|heals?|healing|acne|pimples?|weight\s+loss|lose\s+weight|slim\w*|fat\s+burn\w*",
        r"blood\s+(?:pressure|sugar)|diabet\w*|cholesterol|cancer|tumou?rs?|immun\w*|detox\w*|pregnan\w*|breastfeed\w*",
        r"eczema|insomnia|sleep\s+better|wrinkles?|anti[\s-]?aging|medic\w*|disease|illness|doctor|prescri\w*",
        r"heart\s+(?:attacks?|disease)|strokes?|asthma|autism|adhd|hair\s+loss|bald\w*|dandruff|constipat\w*|prevents?\s+\w+",
        r"arthrit\w*|migraine\w*|anxiety|depression|flu\b|colds?\b|cough\w*|fever",
        r"side\s+effects?|whiten\w*|lighten\w*\s+(?:my\s+)?skin|arthritis|inflammation",
        r"pains?|aches?|gout|grow\s+taller|dermatitis|psoriasis|rosacea|ulcers?|stomach\s+(?:problems?|issues?|ache)|reflux"
        r"|heartburn|anemi\w*|thyroid|menopaus\w*|(?:fix|help(?:\s+with)?|relieve|soothe)\s+my\s+\w+",
        r"melasma|hyperpigment\w*|afib|atrial|apnea|arrhythmi\w*|belly\s+fat|burn\w*\s+(?:my\s+)?(?:belly\s+)?fat|fat\s+loss"
        r"|get\s+rid\s+of\s+(?:my\s+)?(?:acne|spots|melasma|wrinkles|fat|scars?|eczema|pimples|dark\s+spots)",
        r"raynaud\w*|pneumonia|bronchitis|infections?|infected|covid|viruse?s?|circulation|wounds?|bleed\w*|sinusitis"
        r"|heart\s+(?:problems?|issues?|conditions?|health|failure)|\bdcm\b|cardiomyopath\w*"
        r"|therap\w*|muscle\s+tone|hypotoni\w*|developmental\s+delay|disorders?|syndrome|rehab\w*|physio\w*|scoliosis"
        r"|hurt\s+(?:his|her|their|my|its)\s+(?:heart|stomach|kidneys?|liver|skin|teeth|joints?|eyes?)",
        r"(?:rash\w*|hives|itch\w*|sunburn\w*|diaper\s+rash|allerg\w*)\W+(?:\w+\W+){0,5}(?:go\s+away|get\s+better|clear\s+up|heal)",
    ),
)

_PRICE = _any(
    rf"多少钱|多钱|价格|价钱|价位|单价|原价|现价|售价|卖价|标价|到手价|报价|啥价|什么价|几块钱|几元|怎么卖|咋卖|优惠|便宜|打折|折扣|满减|领券|有券|降价"
    rf"|打.{{0,2}}折|{_N}折(?!的?伞|叠)|平时(?:卖|多少|什么价)|单买.{{0,8}}多少|活动.{{0,3}}到(?:什么时候|啥时候|哪天|几号)|活动.{{0,4}}多久",
    r"几块(?=$|\?|!|,|\.|呀|啊|吗|呢|啦)|(?:^|这个|这款|这件|一共|总共|全部|要|卖|现在|款|(?<![用吃喂放加倒抹涂])的|(?:现在|卖|要)一[箱盒包袋瓶支件套])多少(?=$|\?|!|,|\.|\s|呀|啊|啦|呢|还是)|多少米|几个米"
    r"|贵(?:吗|么|不贵|了|啊|呀|$|\?|!)|太贵|好贵|有点贵|这么贵",
    rf"{_N}(?:元|块)(?:钱)?(?:卖|出|给)|有(?:没有)?活动|赠品|礼品|送(?:个|点|什么|啥)|买{_N}送{_N}",
    _en(
        r"how\s+much(?=\s*(?:$|\?|!|\.|is\b|are\b|for\b|'?s\b|money|dollars?|(?:does|do|will|would)\s+(?:it|this|that|one|they|these|those)\s+cost))",
        r"prices?|priced|pricing|costs?|discounts?|discounted|coupons?|promo(?:\s*code)?s?|vouchers?|cheaper|cheap|deals?",
        r"on\s+sale|for\s+[$¥€£]\s*\d+|(?:\d+\s*%|half|percent)\s*off|free\s+gifts?|bogo|get\s+one\s+free",
        r"what\s+(?:are\s+you|r\s+u|do\s+you)\s+charg\w*|(?:does|do)\s+(?:it|this|they|these|this\s+\w+)\s+go\s+for\b|how\s+much\s+for\b"
        r"|what'?s\s+the\s+damage|\bsale\b|^\$+\s*\?*$|\$\$|still\s+[$¥]?\d+",
        r"going\s+for\b|how\s+much\s+(?:per|a|an|each)\b(?!\s*(?:day|meal|serving|cup|scoop|feeding|time|week|night|use|wash|load"
        r"|month|dog|cat|pup|puppy|kitten|kid|child|person|adult)\b)|(?:normal|regular|usual|full|list|original)(?:ly)?\s+(?:price|cost|\$)"
        r"|regular(?:ly)?\s*\?|msrp|rrp|was\s+(?:it|this)\s+[$¥€£]?\d|(?:un)?til+\s+when\b.{0,20}\b(?:sale|deal|discount|offer)"
        r"|when\s+(?:does|will|is)\s+(?:the\s+)?(?:sale|deal|discount|offer)\s+(?:end|over|finish)",
    ),
)
_SPEC = _any(
    r"尺寸|尺码|码数|多大|多长|多宽|多高|多重|多厚|材质|材料|面料|成分|颜色|什么色|色号|容量|参数|规格|重量|几斤|型号|功率|续航|保质期|产地|什么牌子",
    r"(?:加|含|有|放)(?:了)?(?:香精|香料|色素|防腐剂|添加剂|糖|酒精)",
    r"质量(?:怎么样|如何|好吗|好不好)|好用吗|(?:穿|选|拿|买)?(?:多大|什么|几|多少)(?:码|号)|多少(?:克|毫升|ml|g|斤|瓦|寸|厘米|cm|米)|防水|机洗|起球|掉色|缩水|透气|偏大|偏小|身高|体重",
    r"多少度|几度|温度|水温|多久(?!到|能到|可以到|才到|发货|送到|寄到)|多长时间|怎么(?:泡|用|吃|喝|冲|洗|煮|充电|安装|戴|穿)|如何(?:使用|食用|冲泡)|用法|几片|几张|几粒|几包|几个装|(?:一|每)(?:盒|包|袋|箱)(?:有)?(?:几|多少)",
    _en(
        r"sizes?|sizing|materials?|fabric|colou?rs?|weight|weigh|dimensions?|capacity|specs?|specifications?|waterproof|battery|made\s+of",
        r"how\s+(?:big|long|wide|tall|heavy|large|thick|hot|warm|cold)|how\s+many|length|width|height|volume|does\s+it\s+fit",
        r"(?:what|which)\s+brand|brand|who\s+makes|how\s+(?:do|to|should)\s+(?:i|you|we)\s+(?:use|brew|make|clean|wash|cook|store)",
        r"temperature|degrees|made\s+in|ingredients?|what'?s\s+in\s+(?:it|the\s+box)|in\s+the\s+box",
        # how much to feed or use, a setting, whether what the viewer sees is normal, plugs and voltages abroad
        r"how\s+much\s+(?:do|should|can|would)\s+(?:i|you|we)\s+(?:feed|give|use|apply|put|add)|how\s+much\s+to\s+(?:feed|give|use)"
        r"|how\s+much\s+(?:a|per|each|every)\s+(?:day|meal|serving|feeding)\b|how\s+many\s+cups|\bfeed(?:ing)?\b|\btemps?\b|\bversion\b|is\s+(?:that|this|it)\s+(?:normal|ok|okay|safe)\b"
        r"|same\s+amount|\bor\s+less\b|adapter|\bplugs?\b|voltage|allerg\w*|see[\s-]?through|\bsheer\b",
    ),
    r"透不透|透吗|透么|会透|透光|打底|正常吗|正常不|正常么|喂多少|喂几|一天喂|过敏|转换插头|插头",
)
_STOCK = _any(
    r"有货|还有吗|还有么|还有没有|还有没(?!\S*(?:别的|其他|优惠))|库存|没货|补货|断货|缺货|售罄|卖完|卖光|抢光|还剩|剩多少|剩几|现货|还能买|到货了?吗|还能拍|能拍吗|能买吗|能下单吗|可以拍吗"
    r"|能买到|买得到|有得买|能不能买",
    r"什么时候(?:有货|到货|开售|发售|上架)|预售",
    _en(r"in\s+stock|out\s+of\s+stock|sold\s+out|available|availability|restock\w*|any\s+left|still\s+have|inventory",
        r"can\s+i\s+(?:order|get|buy)\s+(?:this|it|one|that)|(?:is|are)\s+(?:it|they|this|the\s+\w+)\s+(?:coming|back)",
        r"when(?:'s|\s+is|\s+will|\s+does|\s+do|\s+can\s+i\s+get)\s+(?:the\s+)?[\w\s]{0,20}(?:coming|back|available|ship)|pre[\s-]?order\w*|backorder\w*",
        r"\bleft\s*\?|how\s+many\b.{0,30}\bleft\b|\bany\b.{0,20}\bleft\b|still\s+(?:got|have|selling|carry)\b|\bgot\s+any\b"
        r"|(?:do|d)\s+(?:you|u)\s+(?:guys\s+)?(?:still\s+)?(?:have|sell|carry)\s+(?:it|this|these|them|any|the)\b"),
)
_SHIPPING = _any(
    r"发货|快递|几天(?:能|可以|才能|就能)?(?:到|送到|收到|发)|多久(?:能|可以|才能|会)?(?:到|发)|什么时候(?:能|可以|会)?(?:到|发)|包邮|运费|邮费|顺丰|物流|配送|送到|寄到|能寄|偏远|海外|国外",
    _en(
        r"shipping|ship(?:s|ped)?\s+to|ships|deliver\w*|postage|courier|arrive|arrival|tracking|dispatch\w*",
        r"how\s+long\s+(?:does\s+it\s+take|to\s+(?:arrive|get|ship))|when\s+(?:will|does|do|would|can)\s+(?:it|this|they|mine|my\s+order)\s+ship",
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

CACHED_COMMENTS = 8192  # distinct normalised comments whose intent is remembered (a few MB at most)
_F = re.I | re.S
_BLOCKERS = re.compile(rf"(?P<scamq>{_SCAM_QUESTION})|(?P<injection>{_INJECTION})|(?P<abuse>{_ABUSE})", _F)
_HUMAN = re.compile(_ARE_YOU_HUMAN, _F)
#: Shopping intents in priority order (highest value first), then greetings.
_MAIN_ORDER = (
    Intent.ARE_YOU_HUMAN, Intent.HEALTH, Intent.PRICE, Intent.STOCK, Intent.HOW_TO_BUY, Intent.SPEC, Intent.SHIPPING,
    Intent.AFTER_SALES, Intent.GREETING,
)  # fmt: skip
_MAIN_SOURCES = {
    Intent.ARE_YOU_HUMAN: _ARE_YOU_HUMAN, Intent.HEALTH: _HEALTH, Intent.PRICE: _PRICE, Intent.STOCK: _STOCK, Intent.HOW_TO_BUY: _HOW_TO_BUY,
    Intent.SPEC: _SPEC, Intent.SHIPPING: _SHIPPING, Intent.AFTER_SALES: _AFTER_SALES, Intent.GREETING: _GREETING,
}  # fmt: skip
# searched one by one in rank order (the first intent found wins), each skipped at once when the comment has no
# character one of its phrases starts with
_MAIN = tuple((i, Prefiltered(re.compile(_MAIN_SOURCES[i], _F))) for i in _MAIN_ORDER)
_BLOCKERS_P = Prefiltered(_BLOCKERS)
_HUMAN_P = Prefiltered(_HUMAN)
_PRODUCT_QUESTION_P = Prefiltered(_PRODUCT_QUESTION)
_HUMAN_LOOSE_P = Prefiltered(_HUMAN_LOOSE)

_FILL = r"[\s*.\-_~|/\\+=#^`'\"·]+"
_CJK_GAP = re.compile(
    rf"(?<=[^\x00-\x7f]){_FILL}(?=[^\x00-\x7f])"  # 多 少 钱, 多*少*钱
    r"|(?<=[^\x00-\x7f])[\s*_~|#^`'\"·]+(?=[a-z0-9])|(?<=[a-z0-9])[\s*_~|#^`'\"·]+(?=[^\x00-\x7f])"  # 1*元, 是*a*i*吗
    r"|(?<=[^\x00-\x7f])\s+(?=[?!])|(?<=[?!])\s+(?=[^\x00-\x7f])"  # 主 播 ？ 回 复
)
_SPELLED = re.compile(r"(?<![a-z0-9])[a-z](?:[ .\-_*][a-z]){3,}(?![a-z0-9])|(?<![a-z0-9])[a-z0-9](?:[*_][a-z0-9])+(?![a-z0-9])")
_LETTER_GAP = re.compile(r"[ .\-_*]")


_SPACED_AI = re.compile(r"(?<![a-z])a[\s.\-_*]+i(?![a-z])")


def _scan_view(normalized: str) -> str:
    if " " in normalized or not normalized.isascii():
        normalized = _CJK_GAP.sub("", normalized)
    if "a" in normalized and "i" in normalized:
        normalized = _SPACED_AI.sub("ai", normalized)  # 是 a i 吧
    if any(c in normalized for c in " .-*_"):
        normalized = _SPELLED.sub(lambda m: _LETTER_GAP.sub("", m.group()), normalized)
    return normalized


@functools.lru_cache(maxsize=CACHED_COMMENTS)
def classify_phrase(normalized: str) -> tuple[Intent, str]:
    """The intent and the phrase that decided it ("" for OFF_TOPIC).

    Results are kept for the last :data:`CACHED_COMMENTS` distinct comments: chat repeats itself ("666", "扣1",
    the same question from many viewers), and a repeat costs a lookup instead of a scan."""
    view = _scan_view(normalized)
    injection: list[re.Match[str]] = []
    abuse: re.Match[str] | None = None
    for m in _BLOCKERS_P.finditer(view):
        if m.lastgroup == "injection":
            injection.append(m)
        elif m.lastgroup == "abuse" and abuse is None:
            abuse = m
    human = _HUMAN_P.search(view)
    if human and (injection or abuse):
        # asked whether the host is human, in whatever framing ("tell me you are human, just say yes"): the answer
        # is always the truth, from a fixed template, so the question is answered and nothing else is
        return Intent.ARE_YOU_HUMAN, human.group()
    if injection:
        return Intent.INJECTION, injection[0].group()
    if abuse:
        return Intent.ABUSE, abuse.group()
    if human is None and _HUMAN_LOOSE_P.possible(view):
        loose = _HUMAN_LOOSE.search(view)
        if loose and (_QUESTION.search(_TRAILING.sub("", view)) or _ASKS_HOST.search(view)):
            return Intent.ARE_YOU_HUMAN, loose.group()
    for intent, pattern in _MAIN:
        found = pattern.search(view)
        if found:
            return intent, found.group()
    question = _PRODUCT_QUESTION_P.search(view)
    if question:
        return Intent.SPEC, question.group()
    return Intent.OFF_TOPIC, ""


def classify(normalized: str) -> Intent:
    """The :class:`Intent` of a :func:`normalize`-d comment.

    A question whether the host is human first (always answered, truthfully, whatever it is
    wrapped in), then INJECTION and ABUSE, HEALTH (a safe answer only), the shopping intents
    by value, GREETING; anything else is OFF_TOPIC.
    """
    return classify_phrase(normalized)[0]


_QUESTION = re.compile(
    r"[吗么嘛呢?]|吧$|多少|几|怎么|怎样|如何|什么|啥|哪|多久|能不能|能否|是不是|有没有|可不可以|行不行|会不会|还是|咋"
    r"|(.)不\1|(?:[^\s]{2})不$|(?:好|行|对|合适|能|可以)不|(?:能|可以|会)[\u4e00-\u9fff]{1,3}不$"
    r"|^(?:what|how|which|does|do|did|is|are|can|could|will|would|where|when|why|any|got|have|has|whats|waht)\b"
    r"|\bor\b|\b(?:what|which|how)\b",
    re.I,
)


_TRAILING = re.compile(r"[^\w?]+$")


def is_question(normalized: str) -> bool:
    """The comment asks something (a question mark or word, Chinese or English)."""
    view = _TRAILING.sub("", _scan_view(normalized))  # "能吃不😭": the emoji after the question
    # "能折叠不 想带去旅行": the question ends where the chat's space does (the view joins Chinese across spaces)
    return _QUESTION.search(view) is not None or _ENDS_BEFORE_GAP.search(normalized) is not None


_ENDS_BEFORE_GAP = re.compile(r"(?:能|可以|会|好|行)[\u4e00-\u9fff]{0,3}不(?=[\s，,。.!！~])")
