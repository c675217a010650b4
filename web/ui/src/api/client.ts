// Talking to Tend's API from the browser: the session cookie goes along by itself (same
// origin); every error answer is a problem+json document, kept whole so pages can show the
// server's own words and place each `errors[].path` at its field.

export interface FieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem answer (or a network failure, status 0). */
export class Problem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldError[];
  readonly body: Record<string, unknown>;

  constructor(status: number, body: Record<string, unknown>) {
    const detail = typeof body.detail === "string" ? body.detail : "";
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.type = typeof body.type === "string" ? body.type : "";
    this.title = typeof body.title === "string" ? body.title : "";
    this.detail = detail;
    this.errors = Array.isArray(body.errors) ? (body.errors as FieldError[]) : [];
  }
}

export const SIGNED_OUT = "tend:signed-out";

export interface ApiAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  ifMatch?: string;
  contentType?: string;
  signal?: AbortSignal;
}

/** A request to the API; resolves with the JSON body, rejects with a [`Problem`]. */
export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = options.contentType ?? "application/json";
  if (options.ifMatch) headers["If-Match"] = options.ifMatch;
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new Problem(0, { detail: String(err) });
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text };
    }
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/api/v1/auth/session") && !path.startsWith("/api/v1/auth/login")) {
      window.dispatchEvent(new Event(SIGNED_OUT));
    }
    throw new Problem(response.status, (body ?? {}) as Record<string, unknown>);
  }
  return { status: response.status, body: body as T, headers: response.headers };
}

/** `/api/v1/spaces/{space}/forms/{form}` with each part escaped. */
export function formPath(space: string, form: string, rest = ""): string {
  return `/api/v1/spaces/${encodeURIComponent(space)}/forms/${encodeURIComponent(form)}${rest}`;
}
