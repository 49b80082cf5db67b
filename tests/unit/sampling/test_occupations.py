import pytest

from survey_app.sampling.occupations import (
    Classification,
    classify_title,
    normalise_title,
    rules_count,
)

EXPECTED = [
    ("Social- og sundhedsassistent", "5321"),
    ("SOSU-assistent", "5321"),
    ("Social- og sundhedshjælper", "5322"),
    ("Sygeplejerske", "2221"),
    ("Operationssygeplejersker", "2221"),
    ("Tømrer", "7115"),
    ("Tømrerlærling", "7115"),
    ("Elektriker", "7411"),
    ("Softwareudvikler", "2512"),
    ("Udvikler", "2512"),
    ("Senior Software Developer", "2512"),
    ("Frontend-udvikler", "2513"),
    ("Forretningsudvikler", "2421"),
    ("Lagermedarbejder", "4321"),
    ("Lagermedarbejdere til nattevagt", "4321"),
    ("Lagerchef", "1324"),
    ("Buschauffør", "8331"),
    ("Lastbilchauffør", "8332"),
    ("Chauffør", "8322"),
    ("Pædagog", "2342"),
    ("Pædagogmedhjælper", "5311"),
    ("Regnskabsmedarbejder", "4311"),
    ("Bogholder", "4311"),
    ("Kok", "5120"),
    ("Kokkeelev", "5120"),
    ("Køkkenchef", "3434"),
    ("Rengøringsassistent", "9112"),
    ("Rengøringsleder", "5151"),
    ("Salgskonsulent", "3322"),
    ("Smed", "7214"),
    ("Klejnsmed", "7214"),
    ("Svejser", "7212"),
    ("Murer", "7112"),
    ("VVS-montør", "7126"),
    ("Maler", "7131"),
    ("Automekaniker", "7231"),
    ("Læge", "2211"),
    ("Praktiserende læge", "2211"),
    ("Overlæge", "2212"),
    ("Tandlæge", "2261"),
    ("Dyrlæge", "2250"),
    ("Lægesekretær", "3344"),
    ("Sekretær", "4120"),
    ("Fysioterapeut", "2264"),
    ("Psykolog", "2634"),
    ("Folkeskolelærer", "2341"),
    ("Gymnasielærer", "2330"),
    ("Revisor", "2411"),
    ("IT-supporter", "3512"),
    ("IT-konsulent", "2511"),
    ("Butiksassistent", "5223"),
    ("Kassemedarbejder / kasserer", "5230"),
    ("Tjener", "5131"),
    ("Frisør", "5141"),
    ("Bager", "7512"),
    ("Slagter", "7511"),
    ("Gartner", "6113"),
    ("Kundeservicemedarbejder", "4222"),
    ("Marketingkonsulent", "2431"),
    ("Projektleder", "2421"),
    ("Socialrådgiver", "2635"),
    ("Jurist", "2611"),
    ("Truckfører", "8344"),
    ("Produktionsmedarbejder", "9329"),
    ("Ejendomsservicetekniker", "5153"),
    ("Nurse", "2221"),
    ("Registered nurses", "2221"),
    ("Electrician", "7411"),
    ("Bus driver", "8331"),
    ("Cleaner", "9112"),
]


@pytest.mark.parametrize(("title", "code"), EXPECTED)
def test_common_titles(title, code):
    result = classify_title(title)
    assert result is not None, title
    assert result.code == code, (title, result)


def test_covers_at_least_sixty_titles():
    assert len(EXPECTED) >= 60
    assert rules_count() >= 150


@pytest.mark.parametrize("title", ["TØMRER", "tømrer", "  Tømrer  ", "Tømrer (m/k)", "Tømrer!"])
def test_case_whitespace_and_punctuation_do_not_matter(title):
    assert classify_title(title).code == "7115"


def test_longest_keyword_wins():
    bus = classify_title("Buschauffør")
    assert bus.code == "8331"
    assert "buschauffør" in bus.rule
    assert classify_title("Chauffør").code == "8322"


def test_result_shape():
    result = classify_title("Sygeplejerske")
    assert isinstance(result, Classification)
    assert result.label == "Nursing professionals"
    assert result.rule == "keyword 'sygeplejerske' (stem)"


def test_keyword_inside_a_word_does_not_match():
    # "kok" sits in the middle of "bankokunde": neither start nor end of the word
    assert classify_title("Bankokunde") is None
    # English keywords are whole words: "nurse" must not hit "nursery"
    assert classify_title("Nursery gardener") is None


@pytest.mark.parametrize("title", [None, "", "   ", "Xyzzy", "Astronaut"])
def test_unknown_titles(title):
    assert classify_title(title) is None


def test_hyphen_is_tried_as_space_and_as_nothing():
    assert normalise_title("SOSU-assistent") == ("sosu assistent", "sosuassistent")
    assert normalise_title("Social- og sundhedsassistent") == ("social og sundhedsassistent",)


def test_codes_are_four_digits():
    for title, _ in EXPECTED:
        code = classify_title(title).code
        assert len(code) == 4 and code.isdigit()
