"""Azure Resource Manager emulator for hybrid.cluster's tests (HTTPS on 127.0.0.1).

    from tests.emulators.azure import AzureEmulator
    emu = AzureEmulator().start()
    emu.env()   # AZURE_* variables for plugins/module_utils/azure.py
    emu.stop()

See docs/testing-azure.md.
"""

from .emulator import AzureEmulator, EmulatorClient

__all__ = ["AzureEmulator", "EmulatorClient"]
