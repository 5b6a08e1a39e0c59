#!/bin/bash
# Draws zk-serve's benchmark CSVs (tests/serve/bench_serve.sh, via tools/bench.sh)
# as SVG charts with gnuplot (installed from Debian if missing):
#   DIR/serve_sweep.csv -> serve_sweep_tokens.svg, serve_sweep_energy.svg
#                          (modelled card tokens/s and J/token vs batch, one line per power cap)
#   DIR/serve_load.csv  -> serve_load.svg (p50/p99 TTFT and TPOT vs concurrent clients)
# usage: tools/plot-serve.sh DIR
set -euo pipefail
D=${1:?usage: plot-serve.sh DIR}
if ! command -v gnuplot > /dev/null; then
    [ "$(id -u)" = 0 ] || { echo "plot-serve: gnuplot missing (apt-get install gnuplot-nox)" >&2; exit 1; }
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends gnuplot-nox > /dev/null
fi
if [ "$(wc -l < "$D/serve_sweep.csv" 2>/dev/null || echo 0)" -gt 1 ]; then
    caps=$(awk -F, 'NR > 1 { print $2 }' "$D/serve_sweep.csv" | sort -u -g -r | tr '\n' ' ')
    for what in tokens energy; do
        if [ $what = tokens ]; then col=4 ylab="modelled card tokens/s" title="zk-serve: throughput vs batch size and power cap"
        else col=5 ylab="modelled card J/token" title="zk-serve: energy per token vs batch size and power cap"; fi
        gnuplot <<GP
set terminal svg size 720,460 dynamic enhanced font "sans,12" background "white"
set output "$D/serve_sweep_$what.svg"
set datafile separator ","
set title "$title"
set xlabel "batch size (concurrent requests, --max-batch)"
set ylabel "$ylab"
set logscale x 2
set key outside right
set grid
caps = "$caps"
plot for [c in caps] "$D/serve_sweep.csv" every ::1 using 1:(\$2 == c ? \$$col : 1/0) \
     with linespoints lw 2 pt 7 title sprintf("cap %s W", c)
GP
    done
fi
if [ "$(wc -l < "$D/serve_load.csv" 2>/dev/null || echo 0)" -gt 1 ]; then
    gnuplot <<GP
set terminal svg size 720,460 dynamic enhanced font "sans,12" background "white"
set output "$D/serve_load.svg"
set datafile separator ","
set title "zk-serve load test (emulated card, host time)"
set xlabel "concurrent streaming clients"
set ylabel "ms"
set logscale xy 2
set key outside right
set grid
plot "$D/serve_load.csv" every ::1 using 1:4 with linespoints lw 2 pt 7 title "TTFT p50", \
     "" every ::1 using 1:5 with linespoints lw 2 pt 5 title "TTFT p99", \
     "" every ::1 using 1:6 with linespoints lw 2 pt 9 title "TPOT p50", \
     "" every ::1 using 1:7 with linespoints lw 2 pt 11 title "TPOT p99"
GP
fi
ls "$D"/serve_*.svg 2>/dev/null | sed 's|^|written: |'
