import logging

from crm.client import CrmClient
from crm.models import Contact

log = logging.getLogger(__name__)


def contacts_to_sync(contacts: list[Contact]) -> list[Contact]:
    return [c for c in contacts if c.dirty and not c.deleted]


def push_contacts(client: CrmClient, contacts: list[Contact]) -> int:
    """Push every changed contact; returns how many were pushed."""
    pushed = 0
    for contact in contacts_to_sync(contacts):
        try:
            client.upsert(contact.external_id, contact.to_payload())
            contact.dirty = False
            pushed += 1
        except Exception:
            pass
    log.info("pushed %d contacts", pushed)
    return pushed
