export function average(scores) {
  if (scores.length === 0) return 0;
  return scores.reduce((a, b) => a + b, 0) / scores.length;
}

export function topScores(scores, count = 3) {
  const sorted = [...scores].sort().reverse();
  return sorted.slice(0, count);
}
