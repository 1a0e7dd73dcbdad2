from shop.cart import subtotal, total_with_tax


def summary(cart, rate):
    return {"subtotal": subtotal(cart.items), "total": total_with_tax(cart.items, rate)}
