#!/usr/bin/env bash
# mypy over the package as it is installed (tribar.risk, tribar.analysis, ...). setuptools maps
# top-level folders into the tribar namespace, which mypy cannot see from the source tree, so
# build a tree of symlinks with the installed layout and check that.
set -euo pipefail
cd "$(dirname "$0")/.."
MYPY="${MYPY:-.venv/bin/mypy}"
tree=build/typecheck
rm -rf "$tree" && mkdir -p "$tree/tribar"
for entry in tribar/*; do
  name=$(basename "$entry")
  [[ "$name" == __pycache__ ]] && continue
  ln -s "$PWD/$entry" "$tree/tribar/$name"
done
ln -s "$PWD/risk" "$tree/tribar/risk"
ln -s "$PWD/analysis" "$tree/tribar/analysis"
ln -s "$PWD/strategies" "$tree/tribar/strategies"
ln -s "$PWD/hyperopts" "$tree/tribar/hyperopts"
ln -s "$PWD/user_data/freqaimodels" "$tree/tribar/freqaimodels"
ln -s "$PWD/bench" "$tree/bench"
cd "$tree"
"$PWD/../../$MYPY" --config-file ../../pyproject.toml -p tribar "$@"
shopt -s nullglob
bench_files=(bench/*.py)
if ((${#bench_files[@]})); then
  "$PWD/../../$MYPY" --config-file ../../pyproject.toml "${bench_files[@]}"
fi
