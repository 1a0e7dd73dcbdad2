export function groupByDay(events) {
  const days = new Map();
  for (const event of events) {
    const day = event.at.slice(0, 10);
    days.set(day, [...(days.get(day) ?? []), event]);
  }
  return days;
}

// events: the last 50,000 events of the feed; mutedIds: every account the viewer muted.
export function visibleEvents(events, mutedIds) {
  return events.filter((event) => !mutedIds.includes(event.actorId));
}
