from decimal import Decimal


def subtotal(items):
    total = Decimal("0")
    for item in items:
        total += item.price * item.quantity
    return total


def total_with_tax(items, rate):
    return subtotal(items) * (1 + rate)
