#!/usr/bin/env python3
"""Where the time goes below one method, from a dotnet-trace speedscope file.

  dotnet-trace convert --format Speedscope X.nettrace      # -> X.speedscope.json
  bench/trace-focus.py X.speedscope.json 'ApiEndpoint.HandleAsync' [N]

dotnet-trace's thread-time sampling records every thread, waiting ones too, so its own topN is
dominated by idle pool threads. This keeps only the samples whose stack passes through the focus
method (a substring of the frame name) and prints, for the frames below it, the share of those
samples they are on the stack (inclusive) and at the top (exclusive).
"""
import json
import sys
from collections import Counter

path, focus = sys.argv[1], sys.argv[2]
top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
doc = json.load(open(path))
frames = [f["name"] for f in doc["shared"]["frames"]]
inclusive, exclusive, total = Counter(), Counter(), 0
for profile in doc["profiles"]:
    if profile.get("type") == "sampled":
        stacks = zip(profile["samples"], profile["weights"])
    else:  # evented: rebuild stacks from open/close events, weight = time between events
        stacks, open_frames, last = [], [], None
        for event in profile["events"]:
            if last is not None and open_frames:
                stacks.append((list(open_frames), event["at"] - last))
            last = event["at"]
            if event["type"] == "O":
                open_frames.append(event["frame"])
            elif open_frames:
                open_frames.pop()
    for stack, weight in stacks:
        names = [frames[i] for i in stack]
        at = next((i for i, n in enumerate(names) if focus in n), None)
        if at is None:
            continue
        total += weight
        below = names[at:]
        for name in set(below):
            inclusive[name] += weight
        # The sampler's pseudo-frames (CPU_TIME, UNMANAGED_CODE_TIME) say what the frame under them was doing.
        real = [n for n in below if n not in ("CPU_TIME", "UNMANAGED_CODE_TIME")]
        exclusive[real[-1] if real else below[-1]] += weight

if total == 0:
    sys.exit(f"no samples pass through '{focus}'")
print(f"{total:.0f} (time units) of samples through '{focus}'")
print(f"{'incl%':>6} {'excl%':>6}  frame")
for name, weight in inclusive.most_common(top):
    print(f"{100 * weight / total:6.1f} {100 * exclusive[name] / total:6.1f}  {name[:150]}")
print("\ntop exclusive:")
for name, weight in exclusive.most_common(top // 2):
    print(f"{100 * weight / total:6.1f}  {name[:150]}")
