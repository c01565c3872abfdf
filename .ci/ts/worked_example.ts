// The worked example through openapi-fetch, typed by openapi-typescript from openapi.json.
// A program allows 2 sessions a month; a coachee books next month until it is full; the third
// booking is refused with 409 `monthly_limit_reached`. `tsc --strict` checks it, node runs it.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const client = createClient<paths>({
  baseUrl: process.env.API_URL,
  headers: { Authorization: `Bearer ${process.env.API_TOKEN}` },
});

function monthStart(monthsAhead: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + monthsAhead, 1));
}
const yearMonth = (day: Date): string => day.toISOString().slice(0, 7);
const at = (month: Date, day: number): string =>
  new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), day, 10)).toISOString();

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function main(): Promise<void> {
  const full = monthStart(1);
  const after = monthStart(2);

  const program = await client.POST("/v1/programs", {
    body: { name: "Leadership", sessions_per_month: 2 },
  });
  check(program.data !== undefined, "program not created");
  const coach = await client.POST("/v1/coaches", {
    body: { name: "Carla", email: "carla@example.com", timezone: "UTC" },
  });
  check(coach.data !== undefined, "coach not created");
  const weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
  await client.PUT("/v1/coaches/{coach_id}/availability", {
    params: { path: { coach_id: coach.data.id } },
    body: { weekly: weekdays.map((weekday) => ({ weekday, start: "00:00", end: "24:00" })) },
  });
  const maia = await client.POST("/v1/coachees", {
    body: {
      name: "Maia",
      email: "maia@example.com",
      timezone: "Europe/Berlin",
      program_id: program.data.id,
      coach_id: coach.data.id,
    },
  });
  check(maia.data !== undefined, "coachee not created");

  for (const [day, label] of [[10, "Session 1 of 2"], [11, "Session 2 of 2"]] as const) {
    const booked = await client.POST("/v1/sessions", {
      body: { coachee_id: maia.data.id, starts_at: at(full, day) },
      headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    check(booked.data?.label === label, `expected ${label}`);
    check(booked.response.headers.get("Location") === `/v1/sessions/${booked.data.id}`, "Location");
  }

  const refused = await client.POST("/v1/sessions", {
    body: { coachee_id: maia.data.id, starts_at: at(full, 12) },
  });
  check(refused.response.status === 409 && refused.error !== undefined, "expected a 409");
  const problem = refused.error;
  check(problem.code === "monthly_limit_reached", `unexpected ${problem.code}`);
  check("month" in problem && problem.month === yearMonth(full), "month");
  check(
    "next_available_month" in problem && problem.next_available_month === yearMonth(after),
    "next_available_month",
  );
  console.log(`refused: ${problem.detail}`);
}

await main();
