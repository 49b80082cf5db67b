from survey_app.core.ids import MAX_ID, parse_id


def test_ascii_digits_are_an_id():
    assert parse_id("0") == 0
    assert parse_id("42") == 42
    assert parse_id(str(MAX_ID)) == 2_147_483_647


def test_other_text_is_not_an_id():
    # superscripts and other Unicode digits pass str.isdigit() but are no id; past INTEGER's
    # range is none either
    for text in (None, "", "¹", "٣", "1.0", "-1", " 1", "1 ", "1e3", str(MAX_ID + 1), "9" * 19):
        assert parse_id(text) is None, text
