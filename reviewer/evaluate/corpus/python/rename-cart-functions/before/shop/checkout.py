from shop.cart import calc, calc_with_tax


def summary(cart, rate):
    return {"subtotal": calc(cart.items), "total": calc_with_tax(cart.items, rate)}
