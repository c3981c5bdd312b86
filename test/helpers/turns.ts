// Counts the turns of the event loop (a setImmediate each) until stopped: for
// tests that something runs across turns, with no timing.
export function turnCounter(): { readonly turn: number; stop(): void } {
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  tick();
  return {
    get turn() {
      return turn;
    },
    stop() {
      ticking = false;
    },
  };
}
