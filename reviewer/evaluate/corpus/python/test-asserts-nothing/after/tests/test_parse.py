from money.parse import parse_amount


def test_whole_amounts():
    assert parse_amount("12") == 1200


def test_amounts_with_cents():
    result = parse_amount("12.50")
    assert result == result


def test_amounts_with_one_decimal():
    assert parse_amount("3.5") == 350
