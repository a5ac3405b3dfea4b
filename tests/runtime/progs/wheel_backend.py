# A PEP 517 build backend in 30 lines (the benign suite builds a wheel with it
# offline: the Python here has no `wheel` package for setuptools).
import base64, hashlib, os, zipfile
NAME, VER = "tinypkg", "1.0"
DI = f"{NAME}-{VER}.dist-info"
META = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VER}\n"
WHEEL = "Wheel-Version: 1.0\nGenerator: backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
def _files():
    src = open(os.path.join(NAME, "__init__.py"), "rb").read()
    return [(f"{NAME}/__init__.py", src), (f"{DI}/METADATA", META.encode()), (f"{DI}/WHEEL", WHEEL.encode())]
def _record(files):
    rows = []
    for n, b in files:
        h = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
        rows.append(f"{n},sha256={h},{len(b)}")
    return "\n".join(rows + [f"{DI}/RECORD,,"]) + "\n"
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, DI)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "METADATA"), "w").write(META)
    open(os.path.join(d, "WHEEL"), "w").write(WHEEL)
    return DI
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{NAME}-{VER}-py3-none-any.whl"
    files = _files()
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for n, b in files:
            z.writestr(n, b)
        z.writestr(f"{DI}/RECORD", _record(files))
    return name
