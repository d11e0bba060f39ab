// Parse an iCalendar file with Mozilla's ical.js and print its events as JSON.
// Usage: node icaljs_parse.mjs <npm prefix holding node_modules/ical.js> <file.ics>
// Exits non-zero (message on stderr) when ical.js cannot parse the file.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [prefix, file] = process.argv.slice(2);
const entry = createRequire(join(prefix, "package.json")).resolve("ical.js");
const { default: ICAL } = await import(pathToFileURL(entry).href);

const utc = (time) => (time ? time.toJSDate().toISOString() : null);

try {
  const calendar = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      sequence: event.sequence,
      status: vevent.getFirstPropertyValue("status"),
      dtstart: utc(event.startDate),
      dtend: utc(event.endDate),
      last_modified: utc(vevent.getFirstPropertyValue("last-modified")),
      summary: event.summary,
      description: event.description,
      location: event.location,
      categories: vevent.getAllProperties("categories").flatMap((p) => p.getValues()),
      class: vevent.getFirstPropertyValue("class"),
      alarms: vevent.getAllSubcomponents("valarm").length,
      organizer: vevent.getFirstPropertyValue("organizer"),
      organizer_cn: vevent.getFirstProperty("organizer")?.getParameter("cn") ?? null,
    };
  });
  const properties = Object.fromEntries(
    calendar.getAllProperties().map((p) => [p.name, String(p.getFirstValue())]),
  );
  process.stdout.write(JSON.stringify({ properties, events }));
} catch (error) {
  process.stderr.write(`ical.js: ${error}\n`);
  process.exit(1);
}
