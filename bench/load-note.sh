#!/usr/bin/env bash
# One line on how busy the machine is: load averages and the busiest other processes.
read -r one five fifteen _ < /proc/loadavg
at=$(date -u +%H:%M)
busy=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 5 { printf "%s%s %s%%", sep, $2, $1; sep=", " }' | head -c 300)
echo "${at} UTC: load average ${one} / ${five} / ${fifteen} (1/5/15 min); processes above 5 % CPU (lifetime average): ${busy:-none}"
