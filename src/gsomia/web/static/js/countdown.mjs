// Countdowns to the next renewal and the notice deadline (Art. 21), ticking every second.
// The server renders the first value; time is the node's (data-now), not the browser's clock:
// the offset between the two is taken once, at load.
const pad = (n) => String(n).padStart(2, "0");

export function remaining(targetMs, nowMs) {
  let s = Math.floor((targetMs - nowMs) / 1000);
  if (s <= 0) return "passed";
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return `in ${d} d ${pad(h)}:${pad(m)}:${pad(s)}`;
}

export function start(root = document) {
  const clocks = [...root.querySelectorAll(".countdown[data-target][data-now]")];
  if (!clocks.length) return;
  const offset = Date.parse(clocks[0].dataset.now) - Date.now();
  const tick = () => {
    for (const el of clocks) el.textContent = remaining(Date.parse(el.dataset.target), Date.now() + offset);
  };
  tick();
  setInterval(tick, 1000);
}

start();
