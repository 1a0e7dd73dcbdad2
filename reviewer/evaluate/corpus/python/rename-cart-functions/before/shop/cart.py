from decimal import Decimal


def calc(items):
    total = Decimal("0")
    for item in items:
        total += item.price * item.quantity
    return total


def calc_with_tax(items, rate):
    return calc(items) * (1 + rate)
