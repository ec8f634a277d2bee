"""Lists each module's line coverage and fails when one is under the floor (default 70%).

python -m pytest --cov=searchdistill --cov-report=json
python tools/coverage_floor.py [coverage.json] [--floor 70]
"""

import argparse
import json
import sys


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("report", nargs="?", default="coverage.json")
  parser.add_argument("--floor", type=float, default=70.0, help="percent")
  args = parser.parse_args(argv)
  with open(args.report) as f:
    data = json.load(f)
  files = data["files"]
  rows = sorted((entry["summary"]["percent_covered"], name) for name, entry in files.items())
  for percent, name in rows:
    print(f"{percent:5.1f}%  {name}")
  low = [name for percent, name in rows if percent < args.floor]
  total = data["totals"]["percent_covered"]
  print(f"total {total:.1f}% over {len(rows)} modules; under {args.floor:g}%: {len(low)}")
  return 1 if low else 0


if __name__ == "__main__":
  sys.exit(main())
