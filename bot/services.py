"""What the running bot works with: settings, the knowledge base, its matcher and storage.

One object, stored in the Telegram application's ``bot_data``, so a reload can
swap the knowledge base and matcher together in a single assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matcher import Matcher
from bot.settings import Settings
from bot.storage import Storage
from bot.throttle import UserThrottle


@dataclass
class Knowledge:
    kb: KnowledgeBase
    matcher: Matcher


@dataclass
class Services:
    settings: Settings
    knowledge: Knowledge
    storage: Storage
    throttle: UserThrottle = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = UserThrottle(self.settings.user_rate_limit)

    @property
    def kb(self) -> KnowledgeBase:
        return self.knowledge.kb

    @property
    def matcher(self) -> Matcher:
        return self.knowledge.matcher

    def reload(self) -> KnowledgeBase:
        """Load the knowledge folder again; on KnowledgeError the old one stays live."""
        kb = load_knowledge(self.settings.knowledge_dir)
        self.knowledge = Knowledge(kb, Matcher(kb))
        return kb


def open_services(settings: Settings) -> Services:
    kb = load_knowledge(settings.knowledge_dir)
    return Services(settings, Knowledge(kb, Matcher(kb)), Storage(settings.database_path))
