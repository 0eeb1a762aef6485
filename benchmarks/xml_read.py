"""Reading FHIR XML against reading the same resources as JSON (docs/DECISIONS.md D-36).

    python benchmarks/xml_read.py [--patients 20] [--repeat 3]

1. A practice is generated (`generate.py`); each resource type is written once as a
   JSON collection Bundle and once as the same Bundle in XML. The XML is written by
   fhir.resources' R4B models (`model_dump_xml`), a writer independent of our reader.
2. `read_paths` over each folder, in this process, best of `--repeat` (the first XML
   read, which imports lxml and the models, is timed apart as "first XML read").
3. A real KBV e-prescription Bundle (tests/fixtures/real/more, about 16 KB) read 200
   times from its JSON and from its XML twin: the shape practices send one by one.
4. `substreg derive` on each folder in a child process (wall time, best of `--repeat`);
   the two documents must be the same.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KBV = ROOT / "tests" / "fixtures" / "real" / "more"
AS_OF = "2026-01-31"


def write_bundles(ndjson: Path, json_dir: Path, xml_dir: Path) -> int:
    import orjson
    from fhir.resources.R4B.bundle import Bundle

    json_dir.mkdir()
    xml_dir.mkdir()
    count = 0
    for path in sorted(ndjson.glob("*.ndjson")):
        resources = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
        count += len(resources)
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources],
        }
        (json_dir / f"{path.stem}.json").write_bytes(orjson.dumps(bundle))
        (xml_dir / f"{path.stem}.xml").write_bytes(Bundle.model_validate(bundle).model_dump_xml())
    return count


def best(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def read_all(paths: list[Path]) -> int:
    from adapter.fhir.source import read_paths

    return sum(1 for _ in read_paths(paths))


def derive_child(folder: Path) -> tuple[float, bytes]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "adapter.cli.main", "derive", str(folder), "--as-of", AS_OF],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return time.perf_counter() - start, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="substreg-xml-") as tmp:
        work = Path(tmp)
        generate = [sys.executable, str(HERE / "generate.py"), str(work / "ndjson")]
        subprocess.run([*generate, "--patients", str(args.patients)], check=True, cwd=ROOT)
        count = write_bundles(work / "ndjson", work / "json", work / "xml")
        sizes = {k: sum(p.stat().st_size for p in (work / k).iterdir()) for k in ("json", "xml")}
        json_s = best(args.repeat, lambda: read_all([work / "json"]))
        first_xml = best(1, lambda: read_all([work / "xml"]))
        xml_s = best(args.repeat, lambda: read_all([work / "xml"]))
        kbv = {
            kind: best(args.repeat, lambda k=kind: read_all([KBV / k] * 100)) / 200
            for kind in ("kbv-1.3.2", "kbv-1.3.2-xml")
        }
        derived = {k: [derive_child(work / k) for _ in range(args.repeat)] for k in ("json", "xml")}
    print(f"{args.patients} patients, {count:,} resources; best of {args.repeat}")
    print(f"{'read':<32}{'seconds':>9}{'resources/s':>14}{'MB/s':>8}")
    for label, seconds, size in [
        ("JSON Bundles", json_s, sizes["json"]),
        ("XML Bundles (first read)", first_xml, sizes["xml"]),
        ("XML Bundles", xml_s, sizes["xml"]),
    ]:
        print(f"{label:<32}{seconds:>9.3f}{count / seconds:>14,.0f}{size / seconds / 1e6:>8.1f}")
    print(f"XML / JSON read time: {xml_s / json_s:.1f}×")
    print(
        f"KBV Bundle (7 resources): JSON {kbv['kbv-1.3.2'] * 1000:.2f} ms, "
        f"XML {kbv['kbv-1.3.2-xml'] * 1000:.2f} ms per file"
    )
    json_derive = min(s for s, _ in derived["json"])
    xml_derive = min(s for s, _ in derived["xml"])
    same = derived["json"][0][1] == derived["xml"][0][1]
    print(f"derive (child): JSON {json_derive:.2f} s, XML {xml_derive:.2f} s; same output: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
