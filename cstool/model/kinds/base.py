"""What a kind is: Field, Read, Need and Kind, and the typed signatures of the hooks a kind
declares when the generic machinery cannot say what it needs.

The hooks see resources, keys and states through the Protocols below, not through
cstool.model.resources: Key asks the kinds table for a key's parent and zone, so this package
cannot import it (the import graph stays acyclic, tests/test_cloud_api.py). The Protocols
name exactly what the hooks use; Key, Resource, State and plan.Builder satisfy them.
Pure: no HTTP, no cs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self, TypeVar

from cstool.model import jsontypes as jt
from cstool.model import values as v

NO_DEFAULT: Any = object()
Params = dict[str, Any]  # request parameters of one API call
ApiObject = Mapping[str, Any]  # one item of a list answer, as the server returns it

CallT = TypeVar("CallT")  # plan.Call: what a lowering hook returns, built by Lowering.call
CallT_co = TypeVar("CallT_co", covariant=True)
ResT = TypeVar("ResT", bound="ResourceLike")  # resources.Resource
ResT_co = TypeVar("ResT_co", bound="ResourceLike", covariant=True)


# --- what the hooks see of keys, resources, states and the plan builder -------------------


# words a kind's name spells in lower case that prose writes otherwise
_PROSE = {"vlan": "VLAN", "ipv6": "IPv6", "vm": "VM"}


def noun(kind: str) -> str:
    """A kind's name as a message says it: dedicated VLAN range, IPv6 prefix, system VM."""
    return " ".join(_PROSE.get(word, word) for word in kind.split("_"))


class KeyLike(Protocol):
    """A resource's identity (resources.Key): its kind and the path of names from the zone."""

    def __init__(self, kind: str, path: tuple[str, ...]) -> None: ...
    @property
    def kind(self) -> str: ...
    @property
    def path(self) -> tuple[str, ...]: ...
    def parent(self) -> Self: ...


class ResourceLike(Protocol):
    """One desired or live object (resources.Resource)."""

    @property
    def key(self) -> KeyLike: ...
    @property
    def values(self) -> Mapping[str, Any]: ...  # the fields' canonical values
    @property
    def extra(self) -> Mapping[str, Any]: ...  # live-only ids, loader flags


class StateLike(Protocol):
    """A desired or live cloud (resources.State). Keys are typed Any: State takes only a
    resources.Key, which this package cannot name (see the module docstring)."""

    def get(self, key: Any, /) -> ResourceLike | None: ...
    def children(self, parent: Any, kind: str) -> Sequence[ResourceLike]: ...


class Lowering(Protocol[ResT, CallT_co]):
    """What a lowering hook builds its calls with (plan.Builder). Keys are typed Any for the
    reason StateLike gives."""

    @property
    def desired(self) -> StateLike: ...  # the configuration being planned
    @property
    def live(self) -> StateLike: ...  # the cloud as read
    def ref(self, key: Any) -> object: ...  # the id of the resource at `key`, at apply time
    def var(self, name: str) -> object: ...  # an id an earlier call of the step bound
    def key(self, kind: str, path: tuple[str, ...]) -> KeyLike: ...
    def call(
        self,
        command: str,
        params: Mapping[str, Any],
        bind: str | None = None,
        creates: Any = None,
        until: tuple[str, str, tuple[str, ...]] | None = None,
    ) -> CallT_co: ...  # until: (field, equals, fail values), a state wait (plan.Until)
    def desired_parent(self, res: ResT) -> ResT: ...
    def generic_params(self, res: ResT) -> dict[str, Any]: ...


# --- the hooks ----------------------------------------------------------------------------


class Parse(Protocol):
    """A YAML value (or an API value) -> its canonical value; raises ValueError when invalid."""

    def __call__(self, raw: Any, /) -> Any: ...


class KeyParse(Protocol):
    """A written or listed identity -> its canonical form (an address normalised)."""

    def __call__(self, raw: Any, /) -> str: ...


class ToApi(Protocol):
    """A field's value -> the request parameters carrying it."""

    def __call__(self, value: Any, /) -> Params: ...


class FromApi(Protocol):
    """A field's canonical value from an API object (None when absent)."""

    def __call__(self, obj: ApiObject, /) -> Any: ...


class ReplaceIf(Protocol):
    """Whether changing a field from old to new needs delete + create."""

    def __call__(self, old: Any, new: Any, /) -> bool: ...


class ToYaml(Protocol):
    """How export writes a field's value, when not as is."""

    def __call__(self, value: Any, /) -> Any: ...


class DefaultOf(Protocol):
    """A default that depends on the entry's other values and its zone's values."""

    def __call__(self, values: Mapping[str, Any], zone: Mapping[str, Any], /) -> Any: ...


class ReadAccept(Protocol):
    """Whether a listed item is one of the kind (a list answer holding several kinds)."""

    def __call__(self, obj: ApiObject, /) -> bool: ...


class Explode(Protocol):
    """The items of the kind held inside one listed parent item."""

    def __call__(self, parent: ApiObject, /) -> list[dict[str, Any]]: ...


class KeyFrom(Protocol):
    """The identity of a listed item that carries it in no field."""

    def __call__(self, obj: ApiObject, /) -> str: ...


class ParentAccept(Protocol):
    """Whether the kind is read under this live parent at all."""

    def __call__(self, parent: ResourceLike, /) -> bool: ...


class LowerCreate(Protocol):
    """The calls that create `res`; `first` is the child its parent's create carries
    (Kind.first_created_by_parent), else None. [] when CloudStack made it already as wanted."""

    def __call__(
        self, plan: Lowering[ResT, CallT], res: ResT, first: ResT | None, /
    ) -> list[CallT]: ...


class LowerUpdate(Protocol):
    """The calls that turn `live` into `res`; `changed` is field name -> (old, new)."""

    def __call__(
        self,
        plan: Lowering[ResT, CallT],
        res: ResT,
        live: ResT | None,
        changed: Mapping[str, tuple[Any, Any]],
        /,
    ) -> list[CallT]: ...


class LowerDelete(Protocol):
    """The calls that delete the live resource."""

    def __call__(self, plan: Lowering[ResT, CallT], live: ResT, /) -> list[CallT]: ...


class Make(Protocol[ResT_co]):
    """How a derive hook makes a resource (the loader's constructor)."""

    def __call__(self, kind: str, path: tuple[str, ...], values: dict[str, Any], /) -> ResT_co: ...


class Derive(Protocol):
    """The implicit resources of a kind under one parent (not written in YAML)."""

    def __call__(self, parent: ResourceLike, make: Make[ResT], /) -> list[ResT]: ...


class LiveTest(Protocol):
    """A question about a live resource that needs the rest of the live cloud: did
    CloudStack create it itself (auto_created_when); does export write it (export_when)."""

    def __call__(self, res: ResourceLike, live: StateLike, /) -> bool: ...


class TitleOf(Protocol):
    """What a create or update step on the resource says it does (enable, disable)."""

    def __call__(self, res: ResourceLike, /) -> str: ...


class CreateNeeds(Protocol):
    """The write-only fields the server needs to create `res` (its parent given: a host's
    cluster says its hypervisor). Never read back, so validate cannot ask for them (an export
    must validate): the plan asks, only when the resource is to be created."""

    def __call__(self, res: ResourceLike, parent: ResourceLike | None, /) -> tuple[str, ...]: ...


class Rotate(Protocol):
    """--rotate-secrets on an existing `res`: the key of the resource the step is on (one
    step per key: a XenServer cluster's hosts share one) and the calls that send its secrets
    again; None when the API cannot change them (replace the object to)."""

    def __call__(
        self, plan: Lowering[ResT, CallT], res: ResT, /
    ) -> tuple[Any, list[CallT]] | None: ...


class ReplaceWhen(Protocol):
    """Why the update from `have` (live) to `want` (desired) would go wrong, so it is done as
    a replace: a reason shown to reviewers, "" when the update is safe."""

    def __call__(self, want: ResourceLike, have: ResourceLike, live: StateLike, /) -> str: ...


class KeyDefault(Protocol):
    """The identity of an entry that does not write its key field, from its other values
    (a host's name is its URL's host; an image store's name is its URL)."""

    def __call__(self, values: Mapping[str, Any], /) -> str: ...


class DisplacedBy(Protocol):
    """Whether the live resource `live` stands in the way of creating `desired` (another
    resource of the kind, of another identity), so it is deleted before that create."""

    def __call__(self, live: ResourceLike, desired: ResourceLike, /) -> bool: ...


Owner = Literal["domain", "account", "project"]


class Match(Protocol):
    """Whether `other` is one of the resources the resource at `key` needs."""

    def __call__(self, key: KeyLike, other: KeyLike, /) -> bool: ...


# --- the table's records ------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One attribute of a kind, as YAML writes it and as the API sends and returns it."""

    name: str
    parse: Parse
    api: str | None = None  # request parameter; also the response key unless read_key says
    read_key: str | None = None  # response key where it differs from the parameter
    to_api: ToApi | None = None
    from_api: FromApi | None = None
    default: Any = NO_DEFAULT  # a value, or a DefaultOf (values, zone values)
    required: bool = False
    replace: bool = False  # changing it needs delete + create
    # changing it from old to new needs delete + create (a value the API cannot set back)
    replace_if: ReplaceIf | None = None
    # what an update sends to clear the field when the config drops it (the server clears
    # on an empty string); None: the API cannot clear it, so an absent value is unmanaged
    clear: str | None = None
    deferred: bool = False  # not sent on create: the kind's finish step sets it
    partial: bool = False  # a mapping of which only the keys the config names are managed
    to_yaml: ToYaml | None = None  # how export writes it, when not as is
    doc: str = ""
    json_type: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    # never returned by the API (a host's url, a password): sent on create, never read,
    # compared or exported
    write_only: bool = False
    # takes only a reference ({env: NAME} or {file: PATH}, model/secrets.py), never a value;
    # a secret field is write-only too
    secret: bool = False
    # a live None is not compared (a response key older servers lack, e.g. capacitybytes)
    absent_unknown: bool = False
    # what of the value is compared with the live one (a pool URL without its user name,
    # which the server never returns); None: the whole value
    compare_as: Parse | None = None
    # the field names an owner of the resource (a domain path, an account or project name),
    # a reference to a domain, account or project the cloud has: checked against the live
    # ones at plan time. A live value may read "id:<uuid>" until the owners are resolved
    owner: Owner | None = None
    # what the server holds when the field was never sent (a public range not for system
    # VMs): export leaves it out, while a config that omits the field leaves it unmanaged
    # (unlike `default`, it is never sent)
    server_default: Any = NO_DEFAULT

    def params(self, value: Any) -> Params:
        """Request parameters for this field's value."""
        if self.to_api is not None:
            return self.to_api(value)
        return {self.api: value} if self.api else {}

    def forces_replace(self, old: Any, new: Any) -> bool:
        """Whether going from old to new needs delete + create."""
        return self.replace or bool(self.replace_if and self.replace_if(old, new))

    def read(self, obj: ApiObject) -> Any:
        """This field's canonical value from an API object (None when absent)."""
        if self.from_api is not None:
            return self.from_api(obj)
        raw = obj.get(self.read_key or self.api or "")
        return None if raw is None or raw == "" else self.parse(raw)


@dataclass(frozen=True)
class Read:
    """How the reader lists a kind: one call for the whole cloud, or one per parent."""

    command: str
    list_key: str
    key_api: str  # response field holding the identity (name, startip, traffictype)
    parent_id: str | None = None  # response field holding the parent's id
    params: Mapping[str, Any] = field(default_factory=dict)
    per_parent: str | None = None  # request parameter carrying the parent's id
    on_demand: bool = False  # per-parent reads only for the zones asked for (scoped settings)
    accept: ReadAccept | None = None
    explode: Explode | None = None  # items held inside the parent's listed item
    key_from: KeyFrom | None = None  # identity not in a field
    extra_fields: tuple[str, ...] = ()  # response fields kept beside the values (live only)
    parent_accept: ParentAccept | None = None  # only under parents like this
    # response fields that also identify an item when no desired key matches its key_api
    # (a host written by its IP: the server names it after the agent)
    aliases: tuple[str, ...] = ()
    # what a server that answers the list command 432 (unknown) lacks, in an operator's words:
    # a plugin's or a newer version's kind, which such a server holds none of
    missing: str | None = None


@dataclass(frozen=True)
class Need:
    """A step on a resource of the needing kind waits for the steps on the resources of
    `kind` in its zone that `match` (the needing key, a candidate key) accepts: the ones
    the server looks up when it runs the step. Deletes go the other way: the needed
    resource is deleted after the one needing it (cstool.model.order)."""

    kind: str
    match: Match


def same_parent(key: KeyLike, other: KeyLike) -> bool:
    """A Need.match: the candidate is a sibling (the traffic types of a provider's network)."""
    return other.path[:-1] == key.path[:-1]


def named(name: str) -> Match:
    """A Need.match: the candidate is the one called `name` (Public traffic)."""
    return lambda _key, other: other.path[-1] == name


def anywhere(_key: KeyLike, _other: KeyLike) -> bool:
    """A Need.match: every resource of the needed kind in the zone."""
    return True


@dataclass(frozen=True)
class Kind:
    """One kind of resource: its place in the YAML tree, its fields, how it is read, the
    API calls that change it, its phase in CloudStack's bring-up order, and its hooks."""

    name: str
    parent: str | None
    container: str  # the YAML key holding these under the parent (or at the top level)
    key: str  # the field of identity in YAML
    key_parse: KeyParse
    fields: tuple[Field, ...]
    phase: int  # place in CloudStack's bring-up order (also the kinds table's order)
    read: Read
    create: str | None = None
    update: str | None = None
    delete: str | None = None
    parent_param: str | None = None  # the create parameter naming the parent
    create_params: Mapping[str, Any] = field(default_factory=dict)
    # "list" of mappings, "map" of key -> the single field, or "one": a single mapping (or
    # `false`, an absent one) under the container, whose identity is the container's name
    style: str = "list"
    finish_phase: int | None = None  # phase of the step that sets deferred fields on create
    auto_created: bool = False  # CloudStack makes these itself: extras are never unmanaged
    first_created_by_parent: bool = False  # the first one comes with the parent's create
    implicit: bool = False  # not written in YAML: derived by the loader
    needs_disabled_zone: bool = False  # creating one in an enabled zone wraps it in disable
    in_zone: bool = True  # False: cloud-wide (global settings), outside every zone
    address_range: bool = False  # an IP range: identity by start, geometry rules apply
    disabled_means: str = ""  # what disabling one takes out of service (for reviewers)
    # what the server looks up when it runs a step on one (apply graph edges, order.py)
    needs: tuple[Need, ...] = ()
    # steps on the ones of one parent run one after another (the server would lose one)
    serial: bool = False
    lower_create: LowerCreate | None = None
    lower_update: LowerUpdate | None = None
    lower_delete: LowerDelete | None = None
    derive: Derive | None = None  # implicit kinds: from their parent
    auto_created_when: LiveTest | None = None  # (live res, live state)
    title_of: TitleOf | None = None  # what a step on it says it does
    export_when: LiveTest | None = None  # (live res, live state): export it?
    # (desired, live res, live state): why an update the API would get wrong is done as a
    # replace ("" when the update is safe); the reason is shown to reviewers
    replace_when: ReplaceWhen | None = None
    # the identity of an entry that omits its key field (None: the key field is required)
    key_default: KeyDefault | None = None
    # managed only in zones that opt in (compute and storage): elsewhere live
    # ones are neither drift nor unmanaged
    opt_in: bool = False
    # deleted only when its parent is torn down (system VMs before their zone's pools)
    torn_down_with_parent: bool = False
    # the values of its `state` field (enabled, disabled, maintenance), for lowering
    state_values: tuple[str, ...] = ()
    # commands that take one out of service: an update that makes one on the way (a pool's
    # nfsmountopts change runs inside a maintenance) disrupts, whatever its fields say
    out_of_service_calls: frozenset[str] = frozenset()
    # what the cloud says of one's health that no config field holds and no apply can
    # change: (the answer's key, kept in Resource.extra; the values that are healthy).
    # Drift reports the others as notes (a host whose agent is Down)
    health: tuple[str, tuple[str, ...]] | None = None
    # what creating one takes that the config may leave out (credentials), and the word
    # the refusal uses for the create ("add" a host)
    create_needs: CreateNeeds | None = None
    create_verb: str = "create"
    rotate: Rotate | None = None  # how its secrets are sent again (None: they cannot be)
    # managed only under a parent whose YAML writes the container (even as [] or false):
    # elsewhere live ones are neither drift nor unmanaged, and they are not listed
    written_opt_in: bool = False
    # an object cstool refers to and never manages (a domain, an account): implicit, never
    # planned, read only when a desired state names an owner (State.owners)
    reference: bool = False
    # its steps come after its parent's finishing step, which does not wait for them (a
    # dedicated guest VLAN range needs the vnet range the physical network's finish sets)
    after_parent_finish: bool = False
    # (live, desired): a live one in the way of creating a desired one of another identity
    # (an overlap the server refuses) is deleted first
    displaced_by: DisplacedBy | None = None
    # the identity and fields of its first child (the kind it creates with itself,
    # first_created_by_parent) that an entry may write on itself instead of in the child's
    # list: a shared network's start/end (createNetwork startip/endip)
    inline_first: tuple[str, ...] = ()
    doc: str = ""

    @property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


def default_of(f: Field, values: Mapping[str, Any], zone: Mapping[str, Any]) -> Any:
    """A field's default for one entry (a DefaultOf is asked; a value is returned as is)."""
    return f.default(values, zone) if callable(f.default) else f.default


# --- field helpers shared by the planes -----------------------------------------------------

BOOL = jt.BOOL


def state_name(enabled: bool) -> str:
    """CloudStack's word for an allocation state."""
    return "Enabled" if enabled else "Disabled"


def enabled_field(
    api: str, deferred: bool = False, doc: str = "enabled (true) or disabled"
) -> Field:
    """`enabled: true|false`, sent and listed as Enabled/Disabled in the `api` parameter."""
    return Field(
        "enabled",
        v.boolean,
        api=api,
        to_api=lambda value: {api: state_name(value)},
        default=True,
        from_api=lambda o: o.get(api) == "Enabled",
        deferred=deferred,
        json_type=BOOL,
        doc=doc,
    )
