// English strings. Every user-visible text of a component comes from here or zh-CN.ts.
export const en = {
  app: { name: "Tend", language: "Language", skipToContent: "Skip to content" },
  nav: { spaces: "Spaces", myWork: "My work", signOut: "Sign out" },
  notFound: { title: "Page not found", body: "Nothing lives at this address.", home: "Go to the spaces" },
};

export type Strings = typeof en;
