"""Which option fits the viewer: the record's size guide read as rules, matched against the viewer's own measures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from products.catalog import catalog_from_data
from scripts_gen import fit
from scripts_gen.facts import ProductFacts
from scripts_gen.gate import Gate
from scripts_gen.responder import Responder
from scripts_gen.triage import Action, Comment, Triage

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _product(sku: str, lang: str, description: str, options: dict[str, list[str]] | None = None,
             specs: dict[str, str] | None = None) -> dict:
    variants = []
    for name, values in (options or {}).items():
        variants += [{"id": f"{sku}-{v.replace(' ', '')}", "title": v, "options": {name: v}, "price": "99.00", "availability": "in_stock"}
                     for v in values]
    return {"sku": sku, "title": f"{sku} item", "lang": lang, "description": description, "specs": specs or {},
            "price": "99.00", "currency": "CNY" if lang == "zh" else "USD", "variants": variants}


CATALOG = catalog_from_data({"products": [
    _product("TEE", "zh", "纯棉短袖。尺码建议：S码适合身高150-160cm、体重40-50kg；M码适合身高160-170cm、体重50-60kg；"
             "L码适合身高170-180cm、体重60-75kg。模特身高175cm，体重65kg，穿L码。保修2年。",
             {"尺码": ["S", "M", "L"]}),
    _product("PANTS", "zh", "宽松阔腿裤，身高155cm选S，165cm选M，175cm选L，体重超过70kg建议选L。30度以下冷水手洗。",
             {"尺码": ["S", "M", "L"]}),
    _product("PARKA", "en", "Insulated parka rated for -20°C to 5°C weather. Size guide: S fits chest 34-36 in, "
             "height 5'4\"-5'7\"; M fits chest 38-40 in, height 5'8\"-5'11\"; L fits chest 42-44 in, height 6'0\"-6'3\".",
             {"Size": ["S", "M", "L"]}),
    _product("POT", "zh", "IH电饭煲。3L适合1到3人，4L适合2到5人。", {"容量": ["3L", "4L"]}),
    _product("KIBBLE", "en", "Feed 1 cup a day for a 20 lb dog, 2 cups for a 40 lb dog. For dogs over 8 weeks.",
             {"Bag": ["5 lb", "15 lb"]}),
    _product("BLOCKS", "zh", "大颗粒积木，适合3-6岁宝宝，小零件已做防吞咽设计。", specs={"尺码": "均码"}),
]})


def facts(sku: str) -> ProductFacts:
    product = CATALOG.get(sku)
    assert product is not None
    return ProductFacts(product)


@pytest.mark.parametrize("question, dims", [
    ("165 55kg穿啥码", {"height": 165.0, "weight": 55.0}),
    ("我100斤 身高158 选哪个码", {"weight": 50.0, "height": 158.0}),
    ("1米75 140斤", {"height": 175.0, "weight": 70.0}),
    ("im 5'10\" 180 lbs what size", {"height": 178.0, "weight": pytest.approx(81.6, abs=0.1)}),
    ("我家五口人 买哪个", {"people": 5.0}),
    ("零下十度能穿吗", {"temperature": -10.0}),
    ("my 4 year old loves lego", {"age": 48.0}),
    ("宝宝8个月能玩吗", {"age": 8.0}),
])
def test_the_viewers_measures(question, dims):
    assert {m.dim: m.value for m in fit.measures(question)} == dims


@pytest.mark.parametrize("question", [
    "30度水洗会缩水吗",  # water, not weather
    "保修几年",  # a warranty's years are no age
    "用了3个月了还好用吗",
    "how much is the 5 lb bag",
])
def test_what_is_not_the_viewers_measure(question):
    assert fit.measures(question, ["5 lb", "15 lb"]) == []


def test_a_range_per_option_and_the_model_is_no_rule():
    rules = fit.rules([CATALOG.get("TEE").description], ["S", "M", "L"])
    assert {r.option for r in rules} == {"S", "M", "L"}
    assert not any("模特" in r.text for r in rules)
    assert not any(b.dim == "age" for r in rules for b in r.bounds)  # 保修2年
    answer = facts("TEE").answer("165 55kg穿啥码")
    assert answer.pick == ("M码",) and answer.sure and "M码适合身高160-170cm" in answer.text
    assert facts("TEE").answer("175cm 70公斤 选哪个码").pick == ("L码",)
    # a boundary is in both ranges: both are named, and both clauses quoted
    assert facts("TEE").answer("身高170 穿啥码").pick == ("M码", "L码")


def test_outside_every_range_the_guide_is_said_with_a_hedge():
    answer = facts("TEE").answer("我190cm 100kg 什么码")
    assert answer.pick == () and not answer.sure and "L码" in answer.text


def test_points_and_an_open_bound():
    pants = facts("PANTS")
    assert pants.answer("身高168穿什么码").pick == ("M码",)  # the nearest point
    assert pants.answer("160 穿什么码").pick == ("S码", "M码")  # between two: both
    answer = pants.answer("我165 150斤穿啥码")  # 75 kg is over 70: the open bound says L, the height M
    assert answer.pick == ("M码", "L码")
    assert pants.answer("175 140斤 哪个码").pick == ("L码",)


def test_a_table_under_a_heading_and_beyond_the_guide():
    product = _product("FEED", "en", "Daily feeding guide (standard cup):\n5-10 lbs: 1/2-3/4 cup\n21-35 lbs: 1 1/4-1 3/4 cups\n"
                       "Over 100 lbs: 3 3/4 cups plus 1/3 cup for each 10 lbs over 100 lbs\nNot for large dogs (70 lbs or more).")
    dress = _product("DRESS", "zh", "尺码推荐：\nS码：身高150-157cm，体重80-92斤\nM码：身高155-163cm，体重92-105斤\n"
                     "体重超过105斤暂无合适尺码。", {"尺码": ["S", "M"]})
    catalog = catalog_from_data({"products": [product, dress]})
    feed, frock = ProductFacts(catalog.get("FEED")), ProductFacts(catalog.get("DRESS"))
    assert feed.answer("my dog is 30 lbs how much a day").text == "21-35 lbs: 1 1/4-1 3/4 cups"
    assert feed.answer("he's 120 lbs, how much?").text.startswith("Over 100 lbs")  # the tighter of two open bounds
    assert feed.fit("he's 120 lbs and 9 years old, same food or senior?") is None  # asks no amount: not the table
    answer = frock.answer("我160 100斤穿啥码")
    assert answer.pick == ("M码",) and answer.text == "M码：身高155-163cm，体重92-105斤"  # the option's whole line
    assert frock.answer("110斤有码吗").text == "体重超过105斤暂无合适尺码"


def test_feet_inches_and_a_labelled_chest():
    parka = facts("PARKA")
    assert parka.answer("I'm 5'9 what size should I get").pick == ("M",)
    assert parka.answer("my chest is 43 in, which size").pick == ("L",)
    answer = parka.answer("warm enough for -10 degrees weather?")
    assert answer.sure and "-20°C to 5°C" in answer.text


def test_people_pet_weight_and_age():
    assert facts("POT").answer("我家五口人 买哪个").pick == ("4L",)
    assert facts("POT").answer("一家三口买哪个").pick == ("3L", "4L")
    assert facts("POT").answer("两个人吃买哪个").pick == ("3L", "4L")
    kibble = facts("KIBBLE").answer("my dog is 40 lbs how much per day")
    assert "2 cups for a 40 lb dog" in kibble.text and kibble.sure
    assert facts("KIBBLE").fit("how much is the 15 lb bag") is None  # the bag's weight names an option
    blocks = facts("BLOCKS").answer("孩子5岁能玩吗")
    assert "3-6岁" in blocks.text and blocks.sure


def test_the_reply_names_the_option_and_passes_the_gate():
    responder = Responder(CATALOG, Gate(CATALOG, now=lambda: NOW), now=lambda: NOW)
    for sku, text, want in [("TEE", "165 55kg穿啥码", "M码适合身高160-170cm"), ("PARKA", "I'm 5'9 what size", "the M")]:
        triaged = Triage(about_product=responder.about_product).add(Comment("viewer", text, 0.0, text))
        assert triaged.action is Action.ANSWER, triaged
        reply = asyncio.run(responder.answer(triaged, sku))
        assert reply is not None and want in reply.text, reply


def test_a_member_of_a_kind_the_record_does_not_have_gets_the_ones_it_has():
    catalog = catalog_from_data({"products": [
        {"sku": "BUDS", "title": "Earbuds", "lang": "en", "price": "59.00", "currency": "USD",
         "description": "Bluetooth 5.3 earbuds. Supports the AAC and SBC codecs.", "specs": {"Codecs": "AAC, SBC", "Port": "USB-C"}},
        _product("COAT", "zh", "加厚外套", {"尺码": ["S", "M", "L", "XL"]})]})
    buds, coat = ProductFacts(catalog.get("BUDS")), ProductFacts(catalog.get("COAT"))
    assert buds.answer("ldac??").text == "the codecs are AAC, SBC"
    assert "USB-C" in buds.answer("lightning cable?").text
    assert "XL" in coat.answer("有xxl吗").text and coat.answer("有xxl吗").sure
    assert buds.answer("does it have aptx").text == "the codecs are AAC, SBC"


def test_an_option_for_the_viewers_use_and_a_summary_is_no_rule():
    coffee = _product("BEANS", "en", "Pour-Over grind is medium-fine, made for a V60 or Chemex. French Press grind is coarse.",
                      {"Grind": ["Whole Bean", "Pour-Over", "French Press"]})
    formula = _product("MILK", "zh", "1段适用0-6月龄。2段适用6-12月龄。3段适用12-36月龄。1段/2段/3段覆盖0-36月龄。",
                       {"段位": ["1段", "2段", "3段"]})
    catalog = catalog_from_data({"products": [coffee, formula]})
    assert "V60" in ProductFacts(catalog.get("BEANS")).answer("brewing on a v60 which grind").text
    assert "Whole Bean" in ProductFacts(catalog.get("BEANS")).answer("which grind options").text
    milk = ProductFacts(catalog.get("MILK"))
    assert milk.answer("宝宝7个月喝几段").pick == ("2段",)  # not every stage of "1段/2段/3段覆盖0-36月龄"
    assert milk.answer("娃两岁半了 能喝哪段").pick == ("3段",)


def test_a_kids_guide_by_age_and_height_and_the_options_own_measures():
    bike = _product("BIKE", "en", "Pick the wheel size from your child's height:\n- 12 inch: ages 2-4, height 85-100 cm (33-39 in)\n"
                    "- 14 inch: ages 3-5, height 100-112 cm (39-44 in)\n- 16 inch: ages 4-7, height 112-125 cm (44-49 in)\n"
                    "Bike weight: 6.5 kg (12 inch), 7.2 kg (14 inch), 7.9 kg (16 inch).",
                    {"Size": ["12 inch", "14 inch", "16 inch"]})
    coat = _product("DOWN", "zh", "90%白鸭绒，适合-15℃~0℃的冬季通勤穿着。", {"尺码": ["M", "L"]}, specs={"衣长": "约95cm（M码）"})
    catalog = catalog_from_data({"products": [bike, coat]})
    kids, down = ProductFacts(catalog.get("BIKE")), ProductFacts(catalog.get("DOWN"))
    kids.fit("x")
    rules = kids._guide[0]  # noqa: SLF001 - the rules as read
    assert all(r.bounds[0].dim != "weight" for r in rules)  # "6.5 kg (12 inch)": the bike's weight, not whom it fits
    (sixteen,) = [r for r in rules if r.option == "16 inch"]
    assert [b.dim for b in sixteen.bounds] == ["age", "height"]  # "ages 4-7"; "(44-49 in)" is the same height again
    assert kids.answer("my kid is 5 and 108cm which bike").pick == ("14 inch",)  # "ages 3-5", height 100-112
    assert kids.answer("he's 115cm tall which one").pick == ("16 inch",)
    answer = down.answer("零下十度能穿吗")
    assert answer.sure and "-15℃~0℃" in answer.text  # a minus after a Chinese word is a minus
    assert "95cm" in down.answer("衣长多少 155穿会不会拖地").text  # a spec the question names, not a size for 155 cm


def test_a_foot_length_guide_table_picks_the_size_whose_length_covers_the_foot():
    # the guide's heading names the length its rows give; its rows are split over several facts (";" ends a
    # sentence), some are sizes not sold, and each row is the longest foot of its size
    sizes = ["US 9", "US 10", "US 11"]
    found = fit.rules(["Size guide (foot length, heel to longest toe): US 7 = 25.0 cm;", "US 8 = 26.0 cm;", "US 9 = 27.0 cm;",
                   "US 10 = 28.0 cm;", "US 11 = 29.0 cm.", "The shoe fits true to size."], sizes)
    assert [r.option for r in found] == sizes
    assert fit.fit("my foot measures like 27cm which size do i get", found, sizes).options == ("US 9",)
    assert fit.fit("between sizes, my foot is 27.4 cm", found, sizes).options == ("US 10",)  # the larger
    assert fit.fit("my foot is 31 cm", found, sizes).options == ()  # beyond the guide: none chosen
    zh = ["39码", "40码", "41码"]
    table = fit.rules(["脚长对照：39码 245mm；40码 250mm；41码 255mm。"], zh)
    assert fit.fit("脚长248mm穿哪个", table, zh).options == ("40码",)
    assert fit.fit("脚长24.2cm", table, zh).options == ("39码",)
    assert fit.fit("脚长20cm穿哪个", table, zh).options == ()
