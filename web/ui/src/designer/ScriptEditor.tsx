// A rhai expression in CodeMirror 6: completion of the form's fields (after `record.`) and of
// Tend's script functions, and the server's script error marked at its line and column. Loaded
// lazily with the designer, so CodeMirror never weighs on the app's first load.
import { useEffect, useRef } from "react";
import { EditorView, keymap, lineNumbers, placeholder as placeholderText } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { autocompletion, closeBrackets, completionKeymap, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
import { linter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { rust } from "@codemirror/lang-rust";
import { SCRIPT_FUNCTIONS, SCRIPT_VARIABLES } from "./functions";

export interface ScriptProblem {
  message: string;
  line?: number;
  column?: number;
}

export interface ScriptEditorProps {
  value: string;
  onChange: (value: string) => void;
  /** The form's field names, offered after `record.`. */
  fields: string[];
  /** The server's error for this script, placed at its line and column. */
  problem?: ScriptProblem | null;
  label: string;
  placeholder?: string;
  testId?: string;
}

/** Completions at the cursor: fields after `record.`, else functions and variables. */
export function complete(fields: string[]) {
  return (context: CompletionContext): CompletionResult | null => {
    const member = context.matchBefore(/record\.\w*/);
    if (member) {
      return { from: member.from + "record.".length, options: fields.map((f) => ({ label: f, type: "property" })), validFor: /^\w*$/ };
    }
    const word = context.matchBefore(/\w+/);
    if (!word && !context.explicit) return null;
    return {
      from: word ? word.from : context.pos,
      options: [
        ...SCRIPT_VARIABLES.map((v) => ({ label: v, type: "variable" })),
        ...SCRIPT_FUNCTIONS.map((f) => ({ label: f.name, type: "function", detail: f.signature, apply: `${f.name}(` })),
      ],
      validFor: /^\w*$/,
    };
  };
}

/** The document range a 1-based line and column name (the rest of the word there). */
export function problemRange(doc: string, problem: ScriptProblem): { from: number; to: number } {
  const lines = doc.split("\n");
  const line = Math.min(Math.max(problem.line ?? 1, 1), lines.length);
  let from = 0;
  for (let i = 0; i < line - 1; i++) from += lines[i].length + 1;
  const text = lines[line - 1] ?? "";
  const column = Math.min(Math.max((problem.column ?? 1) - 1, 0), text.length);
  from += column;
  const rest = text.slice(column).match(/^\w+/);
  const to = Math.min(from + Math.max(rest ? rest[0].length : 1, 1), doc.length);
  return { from: Math.min(from, doc.length), to: Math.max(to, Math.min(from, doc.length)) };
}

export default function ScriptEditor({ value, onChange, fields, problem, label, placeholder, testId }: ScriptEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const change = useRef(onChange);
  change.current = onChange;
  const fieldList = useRef(fields);
  fieldList.current = fields;

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          closeBrackets(),
          bracketMatching(),
          rust(),
          syntaxHighlighting(defaultHighlightStyle),
          autocompletion({ override: [(context) => complete(fieldList.current)(context)] }),
          linter(null),
          keymap.of([...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ "aria-label": label, ...(testId ? { "data-testid": testId } : {}) }),
          ...(placeholder ? [placeholderText(placeholder)] : []),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) change.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The editor is built once; later values arrive through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const current = editor.state.doc.toString();
    if (current !== value) editor.dispatch({ changes: { from: 0, to: current.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const doc = editor.state.doc.toString();
    const diagnostics: Diagnostic[] = problem ? [{ ...problemRange(doc, problem), severity: "error", message: problem.message }] : [];
    editor.dispatch(setDiagnostics(editor.state, diagnostics));
  }, [problem, value]);

  return <div className="script-editor" ref={host} />;
}
