from streaming.tts.base import Phone
from streaming.tts.espeak import EspeakTts
from streaming.tts.visemes import FRAME, Viseme, track_from_phones, viseme_for


def test_mapping_spot_checks():
    assert viseme_for("p") is viseme_for("b") is viseme_for("m") is Viseme.MBP
    assert viseme_for("f") is Viseme.FV
    assert viseme_for("ˈɑː") is Viseme.AA  # Piper stress + length marks
    assert viseme_for("oʊ") is Viseme.O
    assert viseme_for("u") is Viseme.U and viseme_for("w") is Viseme.U
    assert viseme_for("i.") is Viseme.I  # espeak Mandarin syllabic i
    assert viseme_for("ts.") is Viseme.TEETH and viseme_for("s") is Viseme.TEETH
    assert viseme_for("_") is Viseme.REST and viseme_for("") is Viseme.REST


def test_lips_close_60ms_before_p():
    phones = [Phone("a", 0, 10000), Phone("p", 10000, 11000), Phone("a", 11000, 20000)]
    t = track_from_phones(phones, 24000)
    assert t.at(10000 - 2880) is Viseme.MBP
    assert t.at(10000 - 2881) is Viseme.AA
    assert t.at(15000) is Viseme.AA
    assert t.at(21000) is Viseme.REST and t.at(-1) is Viseme.REST and t.at(24000) is Viseme.REST
    assert 0.0 <= t.openness(15000) <= 1.0 and t.openness(10000) == 0.0


def test_closure_never_before_previous_phone_and_held_a_frame():
    phones = [Phone("a", 0, 1000), Phone("m", 1000, 1200), Phone("a", 1200, 9000)]
    t = track_from_phones(phones, 9000)
    assert t.at(0) is Viseme.MBP  # clipped at the previous phone's start
    assert all(t.at(s) is Viseme.MBP for s in range(0, FRAME, 100))  # held one frame


def test_real_espeak_pa_closes_lips_before_burst():
    u = EspeakTts().synthesize("a pa", "en")
    p = next(ph for ph in u.phones if ph.symbol == "p")
    t = track_from_phones(u.phones, u.samples)
    assert t.at(p.start - 2000) is Viseme.MBP
    assert t.at(u.phones[-1].start + 100) is Viseme.AA
