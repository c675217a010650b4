// Names for user ids: person fields (`x-person`) and actors (`user:<id>`) hold ids, and every
// page shows names. Record answers carry the people they name (`people`), remembered here for
// the page's life; a space's members fill in the rest and are what a person picker offers.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import { listMembers, type Member } from "../api/tend";

export interface Person {
  name: string;
  email: string;
}

/** By user id, and by lower-cased email for values written before people (sample data, say). */
const known = new Map<string, Person>();
const byEmail = new Map<string, Person>();
const membersOf = new Map<string, Promise<Member[]>>();

/** Remembers the people a record answer names. */
export function rememberPeople(people: Record<string, Person> | undefined): void {
  for (const [id, person] of Object.entries(people ?? {})) known.set(id, person);
}

/** A user id's (or a known email's) name; an actor's `user:` prefix is looked through. */
export function personName(id: unknown): string | undefined {
  if (typeof id !== "string") return undefined;
  return (known.get(id.startsWith("user:") ? id.slice(5) : id) ?? byEmail.get(id.toLowerCase()))?.name;
}

/** The members of `space` (loaded once per page life); re-renders when they arrive. */
export function useMembers(space: string): Member[] | undefined {
  const [members, setMembers] = useState<Member[] | undefined>(undefined);
  useEffect(() => {
    let cancelled = false;
    let loading = membersOf.get(space);
    if (!loading) {
      loading = listMembers(space).catch(() => [] as Member[]);
      membersOf.set(space, loading);
    }
    void loading.then((list) => {
      for (const m of list) {
        if (!m.name) continue;
        const person = { name: m.name, email: m.email ?? "" };
        known.set(m.user_id, person);
        if (m.email) byEmail.set(m.email.toLowerCase(), person);
      }
      if (!cancelled) setMembers(list);
    });
    return () => {
      cancelled = true;
    };
  }, [space]);
  return members;
}

interface MeWithMemberships {
  superadmin?: boolean;
  user?: { id: string } | null;
  memberships?: { space: string; role: string }[];
}

let me: Promise<MeWithMemberships | null> | undefined;

/** The signed-in user's role in `space` (`owner`, `admin`, `member`, `viewer`); `null` when
 * nothing narrows them (a superadmin, or an API token acting for no user); undefined while
 * loading. A form's `access` rules for that role say what the user may not change. */
export function useSpaceRole(space: string): string | null | undefined {
  const [role, setRole] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    let cancelled = false;
    me ??= api<MeWithMemberships>("/api/v1/auth/me").then((r) => r.body).catch(() => null);
    void me.then((body) => {
      if (cancelled) return;
      if (!body || body.superadmin || !body.user) setRole(null);
      else setRole(body.memberships?.find((m) => m.space === space)?.role ?? null);
    });
    return () => {
      cancelled = true;
    };
  }, [space]);
  return role;
}

/** Forgets who is signed in (after signing out or in as someone else). */
export function forgetSignedIn(): void {
  me = undefined;
  known.clear();
  byEmail.clear();
  membersOf.clear();
}
