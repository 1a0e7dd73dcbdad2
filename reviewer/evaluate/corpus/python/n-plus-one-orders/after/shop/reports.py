from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import Customer, Order


def open_orders(session: Session) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.status == "open")))


def open_orders_report(session: Session) -> list[dict]:
    rows = []
    for order in open_orders(session):
        customer = session.scalars(
            select(Customer).where(Customer.id == order.customer_id)
        ).one()
        rows.append({"order": order.id, "customer": customer.name, "total": order.total})
    return rows
