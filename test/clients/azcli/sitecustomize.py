"""Works around two packaging bugs of Debian bookworm's azure-cli 2.45.0-1.

Loaded by Python at start-up when this folder is on PYTHONPATH:

    PYTHONPATH=test/clients/azcli az ...

mimic does not need it; Debian's az does, against Azure as against mimic.

1. python3-azure ships azure-mgmt-compute 29.0.0, whose newest API is
   2022-08-01, while az 2.45's profile asks for 2022-11-01: every `az vm`
   command fails before sending anything ("API version 2022-11-01 does not
   have operation group 'virtual_machines'"). The 2022-11-01 package name is
   served by the 2022-08-01 package, and compute clients ask for 2022-08-01.
2. azure-mgmt-authorization 3.0.0's operation classes keep their
   configuration in `_config`; az 2.45 reads `.config`, so `az role
   assignment create` fails with AttributeError. The classes get a read-only
   `config` property.
"""
import importlib
import importlib.abc
import importlib.util
import sys

_COMPUTE_ASKED = "azure.mgmt.compute.v2022_11_01"
_COMPUTE_SHIPPED = "azure.mgmt.compute.v2022_08_01"


class _ComputeAPIAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of the missing compute API package get the shipped one."""

    def find_spec(self, name, path=None, target=None):
        if name == _COMPUTE_ASKED or name.startswith(_COMPUTE_ASKED + "."):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(_COMPUTE_SHIPPED + spec.name[len(_COMPUTE_ASKED):])

    def exec_module(self, module):
        pass


def _fix_profile(module):
    """Compute clients ask for the API version that is shipped."""
    mixin = module.MultiApiClientMixin
    asked = mixin._get_api_version

    def _get_api_version(self, group):
        version = asked(self, group)
        if version == "2022-11-01" and type(self).__module__.startswith("azure.mgmt.compute"):
            return "2022-08-01"
        return version

    mixin._get_api_version = _get_api_version


def _fix_operations(module):
    """Operation classes answer .config with their _config."""
    for value in list(vars(module).values()):
        if isinstance(value, type) and value.__name__.endswith("Operations") and not hasattr(value, "config"):
            value.config = property(lambda self: self._config)


def _fixer(name):
    if name == "azure.profiles.multiapiclient":
        return _fix_profile
    if name.startswith("azure.mgmt.authorization.v") and name.endswith(".operations"):
        return _fix_operations
    return None


class _FixAfterImport(importlib.abc.MetaPathFinder):
    """Runs a module's fix right after the module is first executed."""

    def find_spec(self, name, path=None, target=None):
        fix = _fixer(name)
        if fix is None:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            fix(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _ComputeAPIAlias())
sys.meta_path.insert(0, _FixAfterImport())
