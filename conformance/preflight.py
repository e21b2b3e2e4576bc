"""Preflight: what a run needs from the target, checked before anything is provisioned.

Without these a run fails at provisioning with the server's words ("current license is
non-compliant for [ml]", "action [...] is unauthorized"), which say what broke, not what
the user must change. Each missing prerequisite becomes one line that names the fix:

* an ML node (a node with the ``ml`` role, §3.2): deployments are planned only there;
* a licence that allows PyTorch deployments: the PLATINUM feature
  ``pytorch-model-inference``, so platinum, enterprise or trial, and active (§1.1);
* the cluster privileges the run uses, where security is on (``manage_ml`` for every
  call of §1.1 and §5.3, ``monitor`` for discovery's ``GET _nodes`` and cluster
  settings, ``manage_inference`` where the run creates an inference endpoint, §1.6 B),
  read with ``GET _security/user/_has_privileges``;
* the tiny model can be uploaded (§5.3 steps 2-4): a probe model is uploaded and deleted.

A check the target cannot answer (no ``_license`` API, security off, an unreadable
answer) is not a missing prerequisite: provisioning will still say what went wrong.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from conformance.context import Context, Feature
from conformance.events import Notice
from conformance.exchange import Intent, IntentKind
from conformance.target import SetupError, Target

PREFLIGHT = Intent(IntentKind.OTHER, detail="preflight")
PYTORCH_LICENCES = frozenset({"platinum", "enterprise", "trial"})
"""Operation modes at or above PLATINUM (ES ``MachineLearning.ML_PYTORCH_MODEL_INFERENCE_FEATURE``)."""
SECURITY_OFF = "Security must be explicitly enabled"
"""Start of the reason ``SecurityActionFilter`` gives to security APIs while security is disabled."""
PRIVILEGE_FIX = 'grant it through a role (PUT _security/role/<name> with "cluster": [{names}]) assigned to the user'


class PreflightError(SetupError):
    """Prerequisites the target lacks: one line each, exit code 3."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = list(missing)
        if len(missing) == 1:
            super().__init__(missing[0])
        else:
            super().__init__(f"{len(missing)} prerequisites are missing:\n  " + "\n  ".join(missing))


def check(target: Target, ctx: Context) -> list[str]:
    """Every missing prerequisite of a run against ``target``, one line each (empty: ready)."""
    missing = _ml_node(ctx) + _licence(target) + _privileges(target, ctx)
    if not missing:  # the upload needs the rest; its failure would only repeat them
        missing = _upload(target, ctx)
    return missing


def scaling_notice(ctx: Context) -> Notice | None:
    """What to tell the user before a run against a target that can scale (§1.6 C.8): an
    update beyond capacity makes it add ML nodes, which takes minutes and costs money."""
    if ctx.scaling_possible is not True:
        return None
    if ctx.allow_scaling:
        return Notice(
            "the target can scale, and --allow-scaling is given: updates beyond capacity will be sent "
            "and may add ML nodes (minutes of waiting, and a bill)"
        )
    return Notice(
        "the target can scale: updates beyond capacity would add ML nodes (minutes of waiting, and a bill), "
        "so none is sent and the rules that need them are skipped; --allow-scaling sends them"
    )


def required_privileges(ctx: Context) -> list[str]:
    """The cluster privileges a run uses against a target like ``ctx``."""
    return ["manage_ml", "monitor"] + (["manage_inference"] if ctx.has(Feature.INFERENCE_ENDPOINT_CONFLICT) else [])


def _ml_node(ctx: Context) -> list[str]:
    if ctx.nodes or ctx.capacity_unknown:  # serverless: nodes are the platform's, not listed (§1.1)
        return []
    return [
        "no ML node: the cluster has no node with the ml role; add one (node.roles: [ml, ...]) "
        "or point --target at a cluster that has one"
    ]


def _licence(target: Target) -> list[str]:
    exchange = target.request("GET", "/_license", intent=PREFLIGHT)
    answer = exchange.response.json() if exchange.response is not None and exchange.response.status == 200 else None
    licence = answer.get("license") if isinstance(answer, Mapping) else None
    if not isinstance(licence, Mapping):
        return []
    kind, status = str(licence.get("type", "")).lower(), str(licence.get("status", "")).lower()
    fix = (
        "start a 30-day trial (POST _license/start_trial?acknowledge=true) or install a platinum or enterprise licence"
    )
    if kind not in PYTORCH_LICENCES:
        return [
            f"the licence is {kind or 'unknown'}: PyTorch model deployments need platinum, enterprise or trial; {fix}"
        ]
    if status != "active":
        return [f"the {kind} licence is {status or 'not active'}: PyTorch model deployments need an active one; {fix}"]
    return []


def _privileges(target: Target, ctx: Context) -> list[str]:
    wanted = required_privileges(ctx)
    exchange = target.request("POST", "/_security/user/_has_privileges", json={"cluster": wanted}, intent=PREFLIGHT)
    response = exchange.response
    if response is None or response.status != 200:
        if response is not None and response.status == 401:
            return ["the credentials are refused (HTTP 401): check --api-key, --user/--password or --bearer-token"]
        return []  # security off (SECURITY_OFF, 500) or no security plugin (400 no handler): nothing to check
    body = response.json()
    held = body.get("cluster") if isinstance(body, Mapping) else None
    if not isinstance(held, Mapping):
        return []
    user = body.get("username", "the user")
    lacking = [name for name in wanted if held.get(name) is not True]
    names = ", ".join(f'"{name}"' for name in wanted)
    return [f"user {user} lacks the cluster privilege {name}: {PRIVILEGE_FIX.format(names=names)}" for name in lacking]


def _upload(target: Target, ctx: Context) -> list[str]:
    """Upload the tiny model under a run-like id (``clean`` finds it if this is killed) and delete it."""
    from conformance.provisioning import Provisioner

    probe = f"dc-{secrets.token_hex(3)}"
    provisioner = Provisioner(target, probe, ctx.version)
    problems = []
    try:
        provisioner.upload_model(f"{probe}-preflight")
    except SetupError as exc:
        problems.append(
            f"cannot upload the model ({exc}): let the user write trained models (manage_ml) and check "
            "that the cluster accepts writes (disk watermarks, read-only blocks)"
        )
    finally:
        left = provisioner.cleanup()
    if left:
        problems.append(
            f"the preflight model {probe}-preflight was not removed ({left[0]}): "
            f"run deployment-conformance clean --run-id {probe}"
        )
    return problems
