#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the quick Multi30K recipe end to
# end — trains a reversible GRU (11 minutes on 2 idle cores), translates test2016
# with beam 5, scores BLEU/chrF, measures the memory reversibility saved, writes a report.
#
# Usage: tools/quickstart.sh [DATA_DIR]
#   DATA_DIR holds the Multi30K task-1 raw files (train/val/test_2016_flickr .en/.de.gz).
#   Default: ../shared/data/multi30k beside the repository when it exists, else
#   data/multi30k in the repository (download the files there from
#   https://github.com/multi30k/dataset, folder data/task1/raw/).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-}"
if [ -z "$data" ]; then
  if [ -d ../shared/data/multi30k ]; then data=../shared/data/multi30k; else data=data/multi30k; fi
fi
tools/install_deps.sh
tools/build.sh
recipes/multi30k/run.sh quick "$data"
