"""Join links and captioner services: what the session remembers of the links minted
for it (never the tokens), revoking them, and which captioner services are connected.

Revocation is by participant id: every link naming it stops working, used or not,
until no link minted before the revocation can still be valid (a link lives at most
`MAX_LINK_TTL_S`). Inviting the person again means a new link with a new id.
"""

from __future__ import annotations

from dataclasses import replace

from .errors import NotFound, NotPermitted, UserError
from .events import Actor, CaptionerConnected, CaptionerLeft, Event, LinkMinted, LinkRevoked
from .model import CaptionerView, LinkView, Presence
from .roles import Action, Role, require
from .state import SessionState

# Links kept per session: expired ones are forgotten first; beyond this, minting is
# refused (a group of up to 30 people needs nowhere near as many).
MAX_LINKS = 200
# Revoked participant ids kept per session; beyond this, revoking is refused.
MAX_REVOKED = 500
# The longest a link may live (docs/API.md), and the clock skew tokens are allowed:
# a revocation is kept until every link minted before it has expired.
MAX_LINK_TTL_S = 7 * 24 * 3600
CLOCK_SKEW_S = 60
REVOCATION_HOLD_S = MAX_LINK_TTL_S + 2 * CLOCK_SKEW_S


class JoinLinks(SessionState):
    """The link and captioner commands of a session."""

    # -- links -----------------------------------------------------------------

    def record_link(self, link: LinkView, now: float) -> list[Event]:
        """Remember a link just minted (the admin API); UserError when the session has
        ended or already keeps `MAX_LINKS` links that have not expired."""
        self._require_open()
        self._forget_expired(now)
        if link.link_id in self._links:
            raise UserError(f"link {link.link_id} is already recorded")
        if len(self._links) >= MAX_LINKS:
            raise UserError(f"this session already has {MAX_LINKS} links that have not expired")
        self._links[link.link_id] = link
        return [LinkMinted(link)]

    def revoke_link(self, actor_id: str | None, participant_id: str, now: float) -> list[Event]:
        """Revoke every link naming `participant_id`, used or not: its holder cannot
        connect again and, if in the session (waiting, in the call, or a captioner),
        is out of it now. `actor_id` None is the admin API, which may revoke any link;
        a facilitator may not revoke their own or the therapist's."""
        self._require_open()
        by: Actor | None = None
        if actor_id is not None:
            actor = self._actor(actor_id, Action.REVOKE_LINK)
            by = actor.actor()
            role = self._role_of(participant_id)
            if role is None:
                raise NotFound(f"no link for participant {participant_id} in this session")
            if participant_id == actor.id:
                raise UserError("you cannot revoke your own link: leave instead")
            if role is Role.THERAPIST:
                raise NotPermitted("the therapist's link cannot be revoked in the call")
        if participant_id in self._revoked:
            return []
        self._forget_expired(now)
        if len(self._revoked) >= MAX_REVOKED:
            raise UserError(f"this session already has {MAX_REVOKED} revoked links")
        self._revoked[participant_id] = now + REVOCATION_HOLD_S
        for link in list(self._links.values()):
            if link.participant_id == participant_id and link.revoked_at is None:
                self._links[link.link_id] = replace(link, revoked_at=now)
        events: list[Event] = []
        person = self._participants.get(participant_id)
        if person is not None and person.presence is not Presence.LEFT:
            events += self._remove(person, "removed", by)
        if self._captioners.pop(participant_id, None) is not None:
            events.append(CaptionerLeft(participant_id, "revoked", by))
        events.append(LinkRevoked(participant_id, by))
        return events

    def links(self) -> list[LinkView]:
        """The links this session remembers, oldest first."""
        return list(self._links.values())

    def link_revoked(self, participant_id: str) -> bool:
        """Whether the links naming this participant were revoked."""
        return participant_id in self._revoked

    # -- captioner services --------------------------------------------------------

    def connect_captioner(
        self, participant_id: str, name: str, role: Role, now: float
    ) -> list[Event]:
        """A captioner service connected with its link (NotPermitted if that link may
        not come in); connecting again while connected changes nothing."""
        refusal = self.entry_refusal(participant_id)
        if refusal is not None:
            raise NotPermitted(f"this captioner may not connect ({refusal})")
        require(role, Action.SEND_CAPTIONS)
        self._note_link_used(participant_id, now)
        if participant_id in self._captioners:
            return []
        view = CaptionerView(participant_id, name, now)
        self._captioners[participant_id] = view
        return [CaptionerConnected(view)]

    def disconnect_captioner(self, participant_id: str) -> list[Event]:
        """The captioner service's last connection closed."""
        if self._captioners.pop(participant_id, None) is None:
            return []
        return [CaptionerLeft(participant_id, "left")]

    def captioners(self) -> list[CaptionerView]:
        """The captioner services connected now (none once the session has ended)."""
        return [] if self.ended else list(self._captioners.values())

    def captioner_connected(self, participant_id: str) -> bool:
        """Whether this captioner service may hear the session now."""
        return not self.ended and participant_id in self._captioners

    # -- internals -------------------------------------------------------------------

    def _note_link_used(self, participant_id: str, now: float) -> None:
        for link in list(self._links.values()):
            if link.participant_id == participant_id and link.used_at is None:
                self._links[link.link_id] = replace(link, used_at=now)

    def _role_of(self, participant_id: str) -> Role | None:
        """The role a participant id holds in this session, from what it knows of it."""
        person = self._participants.get(participant_id)
        if person is not None:
            return person.role
        if participant_id in self._captioners:
            return Role.CAPTIONER
        for link in self._links.values():
            if link.participant_id == participant_id:
                return link.role
        return None

    def _forget_expired(self, now: float) -> None:
        """Links past their expiry can admit nobody: forget them, and revocations
        that no longer have a link to stop."""
        for link_id, link in list(self._links.items()):
            if link.expires_at <= now:
                del self._links[link_id]
        for participant_id, until in list(self._revoked.items()):
            if until <= now:
                del self._revoked[participant_id]
