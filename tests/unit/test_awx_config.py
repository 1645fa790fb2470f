"""The AWX configuration as code (extensions/awx/) holds together.

The controller data (infra.aap_configuration variables in extensions/awx/controller/ plus the
credential type in extensions/awx/credential_types/), the project skeleton
(extensions/awx/project/) and the execution environment definition (extensions/awx/ee/) are
checked against each other and against the collection: its playbooks, the hybrid definition role,
the inventory plugin's options, galaxy.yml and the kubespray role. Files only, no controller.
"""

import re
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from ansible_collections.hybrid.cluster.plugins.module_utils.plan import PlanError, normalize_spec

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "extensions" / "awx"
CONTROLLER = AWX / "controller"
PROJECT = AWX / "project"
EE = AWX / "ee"
CREDENTIAL_TYPES = AWX / "credential_types"

# The workflow, node by node: the playbook of each job template, or the inventory update.
INVENTORY_UPDATE = "<inventory update>"
WORKFLOW_ORDER = ["preflight", "network", INVENTORY_UPDATE, "nodes", "kubernetes", "mesh", "storage", "report"]
# Playbooks that call the clouds' APIs, so their templates carry the built-in AWS and Azure credentials.
CLOUD_PLAYBOOKS = {"preflight", "network", "site", "teardown"}

# AWX's built-in credential types that the data uses: their input fields, and which are secret.
BUILTIN_CREDENTIAL_TYPES = {
    "Amazon Web Services": {"fields": {"username", "password", "security_token"},
                            "secret": {"password", "security_token"}},
    "Microsoft Azure Resource Manager": {"fields": {"subscription", "username", "password", "client", "secret",
                                                    "tenant", "cloud_environment"},
                                         "secret": {"password", "secret"}},
    "Machine": {"fields": {"username", "password", "ssh_key_data", "ssh_public_key_data", "ssh_key_unlock",
                           "become_method", "become_username", "become_password"},
                "secret": {"password", "ssh_key_data", "ssh_key_unlock", "become_password"}},
}
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
VAULT_REFERENCE = re.compile(r"^\{\{ *vault_[a-z0-9_]+ *\}\}$")


class _Loader(yaml.SafeLoader):
    """YAML as Ansible reads it: ``!unsafe`` marks a string that is never templated."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 - a SafeLoader with one more tag


def _config():
    """Every variable the controller files define, as include_vars would load the directory."""
    config, where = {}, {}
    for path in sorted(CONTROLLER.glob("*.yml")) + sorted(CREDENTIAL_TYPES.glob("*.yml")):
        data = load(path)
        assert isinstance(data, dict), "%s: not a mapping of variables" % path.relative_to(ROOT)
        for key, value in data.items():
            assert key not in config, "%s is defined in %s and again in %s" % (key, where[key], path.name)
            config[key], where[key] = value, path.name
    return config


CONFIG = _config()
TEMPLATES = {t["name"]: t for t in CONFIG["controller_templates"]}
WORKFLOWS = {w["name"]: w for w in CONFIG["controller_workflows"]}
CREDENTIALS = {c["name"]: c for c in CONFIG["controller_credentials"]}
CUSTOM_TYPES = {t["name"]: t for t in CONFIG["controller_credential_types"]}
PROJECTS = {p["name"]: p for p in CONFIG["controller_projects"]}
INVENTORIES = {i["name"]: i for i in CONFIG["controller_inventories"]}
SOURCES = {s["name"]: s for s in CONFIG["controller_inventory_sources"]}
EES = {e["name"]: e for e in CONFIG["controller_execution_environments"]}
GALAXY = load(ROOT / "galaxy.yml")


def _definition_role():
    """The role that reads the hybrid definition: the one whose defaults hold hybrid_teardown_confirm."""
    roles = [p.parents[1] for p in ROOT.glob("roles/*/defaults/main.yml")
             if "hybrid_teardown_confirm" in (load(p) or {})]
    assert len(roles) == 1, "exactly one role should define the hybrid definition, found %s" % roles
    return roles[0]


def _definition_variables():
    role = _definition_role()
    names = set(load(role / "defaults" / "main.yml"))
    # hybrid_name is required, so it has no default; its argument spec names it.
    names |= set(load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"])
    return names


def _surveys():
    for kind, items in (("template", TEMPLATES), ("workflow", WORKFLOWS)):
        for name, item in items.items():
            yield "%s %s" % (kind, name), item


def _survey_items():
    return [item for label, item in _surveys()]


def _questions(item):
    return {q["variable"]: q for q in item["survey_spec"]["spec"]}


def _credential_type(name):
    return CREDENTIALS[name]["credential_type"]


def _wrapped_playbook(path):
    """The collection playbook a project wrapper imports (hybrid.cluster.<name>), or None."""
    plays = load(path)
    if not (isinstance(plays, list) and len(plays) == 1 and isinstance(plays[0], dict)):
        return None
    target = plays[0].get("ansible.builtin.import_playbook", "")
    return target.split(".")[-1] if target.startswith("hybrid.cluster.") else None


# ---------------------------------------------------------------------------------------- files

@pytest.mark.parametrize("path", sorted(AWX.rglob("*.yml")), ids=lambda p: str(p.relative_to(AWX)))
def test_every_file_loads(path):
    assert load(path) is not None


# ---------------------------------------------------------------------------------- playbooks

def test_one_template_per_collection_playbook():
    """Every playbook of the collection has exactly one job template, and nothing else has one."""
    collection = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml"))
    templated = sorted(t["playbook"] for t in TEMPLATES.values())
    assert templated == collection


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_runs_a_wrapper_of_the_collection_playbook(name):
    playbook = TEMPLATES[name]["playbook"]
    wrapper = PROJECT / playbook
    assert wrapper.is_file(), "%s: the project has no %s" % (name, playbook)
    assert _wrapped_playbook(wrapper) == Path(playbook).stem, \
        "%s should be one import_playbook of hybrid.cluster.%s" % (wrapper.relative_to(ROOT), Path(playbook).stem)
    assert (ROOT / "playbooks" / playbook).is_file(), "the collection has no playbooks/%s" % playbook


def test_every_project_playbook_has_a_template():
    wrappers = {p.name for p in PROJECT.glob("*.yml")}
    assert wrappers == {t["playbook"] for t in TEMPLATES.values()}


# ------------------------------------------------------------------------ objects and credentials

@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_names_defined_objects(name):
    template = TEMPLATES[name]
    assert template["project"] in PROJECTS
    assert template["inventory"] in INVENTORIES
    assert template["execution_environment"] in EES
    for credential in template["credentials"]:
        assert credential in CREDENTIALS, "%s: credential %r is not defined" % (name, credential)
    kinds = [_credential_type(c) for c in template["credentials"]]
    assert len(kinds) == len(set(kinds)), "%s: AWX takes one credential of each type" % name


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_use_the_builtin_cloud_credentials(name):
    """Job templates take AWX's own AWS and Azure types; the merged type is for the inventory source."""
    kinds = {_credential_type(c) for c in TEMPLATES[name]["credentials"]}
    assert not kinds & set(CUSTOM_TYPES)
    cloud_kinds = {"Amazon Web Services", "Microsoft Azure Resource Manager"}
    if Path(TEMPLATES[name]["playbook"]).stem in CLOUD_PLAYBOOKS:
        assert cloud_kinds <= kinds, "%s calls both clouds" % name
    else:
        assert not cloud_kinds & kinds, "%s calls no cloud and needs no cloud credential" % name


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_credential_type_exists_and_fits(name):
    credential = CREDENTIALS[name]
    kind = credential["credential_type"]
    if kind in CUSTOM_TYPES:
        fields = CUSTOM_TYPES[kind]["inputs"]["fields"]
        known = {f["id"] for f in fields}
        secret = {f["id"] for f in fields if f.get("secret")}
        missing = set(CUSTOM_TYPES[kind]["inputs"].get("required", [])) - set(credential["inputs"])
        assert not missing, "%s lacks the required inputs %s" % (name, sorted(missing))
    else:
        assert kind in BUILTIN_CREDENTIAL_TYPES, "%s: unknown credential type %r" % (name, kind)
        known, secret = BUILTIN_CREDENTIAL_TYPES[kind]["fields"], BUILTIN_CREDENTIAL_TYPES[kind]["secret"]
    assert set(credential["inputs"]) <= known, "%s: inputs %s are not fields of %s" % (
        name, sorted(set(credential["inputs"]) - known), kind)
    for field in set(credential["inputs"]) & secret:
        assert VAULT_REFERENCE.match(credential["inputs"][field]), \
            "%s: %s must come from a vaulted variable, not be written here" % (name, field)


def test_credential_type_is_the_shipped_file():
    """The merged type is loaded from extensions/awx/credential_types/, not repeated in controller/."""
    assert list(CUSTOM_TYPES) == ["Hybrid clouds (AWS + Azure)"]
    assert not any("controller_credential_types" in load(p) for p in CONTROLLER.glob("*.yml"))


def test_inventory_source_takes_the_merged_credential():
    for source in SOURCES.values():
        assert source["inventory"] in INVENTORIES
        assert source["source"] == "scm"
        assert source["source_project"] in PROJECTS
        assert source["execution_environment"] in EES
        assert _credential_type(source["credential"]) in CUSTOM_TYPES
        path = PROJECT / source["source_path"]
        assert path.is_file() and path.name.endswith(("clouds.yml", "clouds.yaml"))
        assert load(path)["plugin"] == "hybrid.cluster.clouds"


def test_project_uses_the_execution_environment():
    for project in PROJECTS.values():
        assert project["default_environment"] in EES


# ----------------------------------------------------------------------------------- surveys

@pytest.mark.parametrize("label,item", list(_surveys()), ids=[survey[0] for survey in _surveys()])
def test_survey_asks_definition_variables(label, item):
    assert item["survey_enabled"] is True
    questions = _questions(item)
    unknown = set(questions) - _definition_variables()
    assert not unknown, "%s asks %s, which the hybrid definition does not know" % (label, sorted(unknown))
    assert questions["hybrid_name"]["required"] is True
    for question in questions.values():
        assert question["type"] in SURVEY_TYPES
        assert question["question_name"]


def test_only_teardown_asks_for_the_confirmation():
    asking = sorted(label for label, item in _surveys() if "hybrid_teardown_confirm" in _questions(item))
    assert asking == ["template hybrid platform - teardown"]
    confirm = _questions(TEMPLATES["hybrid platform - teardown"])["hybrid_teardown_confirm"]
    assert confirm["required"] is True
    assert not confirm.get("default"), "a default answer would confirm the teardown for the user"


def test_name_question_fits_the_address_plan():
    """The longest name the survey accepts still makes valid cluster names; one more character does not."""
    longest = max(_questions(item)["hybrid_name"]["max"] for item in _survey_items())
    normalize_spec({"name": "a" * longest})
    with pytest.raises(PlanError):
        normalize_spec({"name": "a" * (longest + 1)})


def test_example_platform_is_the_same_everywhere():
    """The survey default, the project's definition and its inventory file name the same platform."""
    definition = load(PROJECT / "inventories" / "group_vars" / "all" / "hybrid.yml")
    inventory = load(PROJECT / "inventories" / "hybrid.clouds.yml")
    defaults = {_questions(item)["hybrid_name"]["default"] for item in _survey_items()}
    assert defaults == {definition["hybrid_name"]} == {inventory["platform"]}
    assert inventory["topology"] == definition["hybrid_topology"]
    assert inventory["regions"] == [definition["hybrid_aws"]["region"]]
    groups = {g for s in inventory["subscriptions"] for g in s.get("resource_groups", [])}
    assert groups == {definition["hybrid_azure"]["resource_group"]}


def test_example_definition_uses_definition_variables():
    definition = load(PROJECT / "inventories" / "group_vars" / "all" / "hybrid.yml")
    assert set(definition) <= _definition_variables()


def test_example_inventory_uses_plugin_options():
    source = (ROOT / "plugins" / "inventory" / "clouds.py").read_text(encoding="utf-8")
    documentation = yaml.safe_load(re.search(r'DOCUMENTATION = r?"""(.*?)"""', source, re.S).group(1))
    inventory = load(PROJECT / "inventories" / "hybrid.clouds.yml")
    assert set(inventory) <= set(documentation["options"])


# ---------------------------------------------------------------------------------- workflow

def test_workflow_runs_the_phases_in_order():
    (workflow,) = WORKFLOWS.values()
    nodes = {n["identifier"]: n for n in workflow["simplified_workflow_nodes"]}
    assert len(nodes) == len(workflow["simplified_workflow_nodes"]), "node identifiers must be unique"
    children = [c for n in nodes.values() for c in n.get("success_nodes", [])]
    assert set(children) <= set(nodes)
    roots = [i for i in nodes if i not in children]
    assert len(roots) == 1 and len(children) == len(set(children)), "the workflow should be one chain"
    order, current = [], roots[0]
    while current:
        node = nodes[current]
        ujt = node["unified_job_template"]
        if ujt in SOURCES:
            order.append(INVENTORY_UPDATE)
        else:
            assert ujt in TEMPLATES, "node %s runs %r, which is not a defined template" % (current, ujt)
            order.append(Path(TEMPLATES[ujt]["playbook"]).stem)
        nexts = node.get("success_nodes", [])
        assert len(nexts) <= 1
        current = nexts[0] if nexts else None
    assert order == WORKFLOW_ORDER


def test_workflow_follows_site():
    """The phases site.yml imports appear in the workflow in the same order."""
    site = [_wrapped_name(play) for play in load(ROOT / "playbooks" / "site.yml")]
    site = [name for name in site if name]
    phases = [p for p in WORKFLOW_ORDER if p in site]
    assert phases == site


def _wrapped_name(play):
    target = play.get("ansible.builtin.import_playbook")
    return Path(target).stem if target else None


def test_workflow_has_no_failure_paths():
    """A failure path would count the failure as handled; a failed phase must fail the workflow."""
    for workflow in WORKFLOWS.values():
        for node in workflow["simplified_workflow_nodes"]:
            assert not node.get("failure_nodes") and not node.get("always_nodes"), node["identifier"]
            assert TEMPLATES.get(node["unified_job_template"], {}).get("playbook") not in {"teardown.yml", "site.yml"}


def test_workflow_node_variables_are_accepted():
    """AWX applies a node's extra_data only when the template prompts for variables."""
    preflight = (ROOT / "playbooks" / "preflight.yml").read_text(encoding="utf-8")
    for workflow in WORKFLOWS.values():
        for node in workflow["simplified_workflow_nodes"]:
            if node.get("extra_data"):
                assert TEMPLATES[node["unified_job_template"]].get("ask_variables_on_launch") is True
                for step in node["extra_data"].get("hybrid_preflight_steps", []):
                    assert "'%s'" % step in preflight, "preflight.yml knows no step %r" % step


# ---------------------------------------------------------------- collections and execution environment

def test_project_requirements_name_the_collection_and_its_dependencies():
    wanted = {c["name"]: c.get("version", "*") for c in load(PROJECT / "collections" / "requirements.yml")["collections"]}
    assert GALAXY["version"] in SpecifierSet(wanted.pop("hybrid.cluster"))
    assert wanted == GALAXY["dependencies"]


def test_execution_environment_definition():
    definition = load(EE / "execution-environment.yml")
    assert definition["version"] == 3
    dependencies = definition["dependencies"]
    galaxy = load(EE / dependencies["galaxy"])
    assert [c["name"] for c in galaxy["collections"]] == ["collections/hybrid-cluster-%s.tar.gz" % GALAXY["version"]]
    kubespray = load(ROOT / "roles" / "kubespray" / "defaults" / "main.yml")
    assert dependencies["python"] == kubespray["kubespray_venv_packages"]
    # Kubespray v2.31.0 requires ansible-core 2.18: the image runs it without a virtualenv.
    core = SpecifierSet(dependencies["ansible_core"]["package_pip"].replace("ansible-core", "", 1))
    assert "2.18.0" in core and "2.19.0" not in core
    image = EES["hybrid.cluster"]["image"]
    assert image.endswith(":" + GALAXY["version"]), "tag the image with the collection's version"


def test_collection_declares_its_execution_environment_needs():
    """meta/execution-environment.yml is what ansible-builder reads from the installed collection."""
    meta = load(ROOT / "meta" / "execution-environment.yml")
    assert meta["dependencies"]["python"] == "requirements.txt"
    assert (ROOT / meta["dependencies"]["system"]).is_file()
