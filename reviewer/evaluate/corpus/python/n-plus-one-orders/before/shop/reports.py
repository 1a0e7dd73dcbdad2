from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import Customer, Order


def open_orders(session: Session) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.status == "open")))
