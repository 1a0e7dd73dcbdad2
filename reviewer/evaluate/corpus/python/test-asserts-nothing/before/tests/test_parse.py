from money.parse import parse_amount


def test_whole_amounts():
    assert parse_amount("12") == 1200
