"""The import graph of `src/searchdistill` against its layers: cycles, upward imports, and the
largest files and functions.

  python tools/layers.py            # report; exit status 1 if a rule is broken
  python tools/layers.py --graph    # also print every module's imports, by layer

Every import counts, including those inside functions (a lazy import that closes a cycle is
still a cycle). A module may import its own layer and the layers below it; `LAYERS` lists
them bottom up. Sizes are counted in lines, a function from its `def` to its last line.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1] / "src" / "searchdistill"

# Bottom up: a package (or top-level module) may import only from its own row and rows above.
LAYERS = [
  ("extras",),
  ("envs", "config"),
  ("networks",),
  ("search", "replay"),
  ("algorithms",),
  ("runs", "loop"),
  ("distributed",),
  ("runner",),
  ("viz",),
  ("cli", "__init__"),
]
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60


def _top(module: str) -> str:
  """`searchdistill.loop.run` -> `loop`; the package itself -> `__init__`."""
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else "__init__"


def _layer(module: str) -> int:
  top = _top(module)
  for index, row in enumerate(LAYERS):
    if top in row:
      return index
  raise SystemExit(f"{module}: its package {top!r} is in no layer of tools/layers.py")


def _module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      # `from package import module` depends on the module; `from module import name` on
      # the module that defines the name.
      submodules = [f"{node.module}.{alias.name}" for alias in node.names]
      names = [m for m in submodules if m in modules]
      if len(names) < len(submodules):
        names.append(node.module)
    else:
      continue
    found.update(name for name in names if name in modules)
  return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
  """Strongly connected components with more than one module (Tarjan, iterative)."""
  index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
  for start in graph:
    if start in index:
      continue
    work = [(start, iter(sorted(graph[start])))]
    index[start] = low[start] = counter[0]
    counter[0] += 1
    stack.append(start)
    on_stack.add(start)
    while work:
      node, children = work[-1]
      child = next(children, None)
      if child is not None:
        if child not in index:
          index[child] = low[child] = counter[0]
          counter[0] += 1
          stack.append(child)
          on_stack.add(child)
          work.append((child, iter(sorted(graph[child]))))
        elif child in on_stack:
          low[node] = min(low[node], index[child])
        continue
      work.pop()
      if work:
        low[work[-1][0]] = min(low[work[-1][0]], low[node])
      if low[node] == index[node]:
        component = []
        while True:
          member = stack.pop()
          on_stack.discard(member)
          component.append(member)
          if member == node:
            break
        if len(component) > 1:
          result.append(sorted(component))
  return result


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--graph", action="store_true", help="print every module's imports")
  args = parser.parse_args()
  paths = sorted(ROOT.rglob("*.py"))
  modules = {_module_name(p): p for p in paths}
  graph, problems, files, functions = {}, [], [], []
  for module, path in modules.items():
    text = path.read_text()
    tree = ast.parse(text)
    # A package's __init__ re-exporting its own modules is not a dependency on itself.
    graph[module] = {
      t for t in _imports(tree, set(modules)) if not t.startswith(module + ".") and t != module
    }
    files.append((len(text.splitlines()), str(path.relative_to(ROOT.parent))))
    for node in ast.walk(tree):
      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        lines = node.end_lineno - node.lineno + 1
        functions.append((lines, f"{path.relative_to(ROOT.parent)}:{node.name}"))
    for target in sorted(graph[module]):
      if _layer(target) > _layer(module):
        problems.append(f"upward import: {module} -> {target}")
  problems += ["import cycle: " + " -> ".join(c) for c in _cycles(graph)]
  problems += [
    f"file over {MAX_FILE_LINES} lines: {w} ({n})" for n, w in files if n > MAX_FILE_LINES
  ]
  problems += [
    f"function over {MAX_FUNCTION_LINES} lines: {w} ({n})"
    for n, w in functions
    if n > MAX_FUNCTION_LINES
  ]
  if args.graph:
    for row in LAYERS:
      for module in sorted(m for m in graph if _top(m) in row):
        print(f"{module} -> {', '.join(sorted(graph[module])) or '(nothing)'}")
  for problem in problems:
    print(problem)
  print(
    f"{len(modules)} modules in {len(LAYERS)} layers; {len(problems)} problems; largest file "
    f"{max(files)[0]} lines ({max(files)[1]}); largest function {max(functions)[0]} lines "
    f"({max(functions)[1]})"
  )
  return 1 if problems else 0


if __name__ == "__main__":
  sys.exit(main())
