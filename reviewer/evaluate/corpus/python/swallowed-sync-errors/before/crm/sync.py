import logging

from crm.client import CrmClient
from crm.models import Contact

log = logging.getLogger(__name__)


def contacts_to_sync(contacts: list[Contact]) -> list[Contact]:
    return [c for c in contacts if c.dirty and not c.deleted]
