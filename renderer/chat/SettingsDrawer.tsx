/**
 * A conversation's own settings in a side drawer: the model (one on this computer, or a remote
 * engine's, marked with the engine and its host), system prompt and sampling, reset to defaults.
 */
import { type FormEvent, useEffect, useState } from "react";
import type { Sampling } from "../../engine/api/contract.ts";
import { CloseIcon } from "../components/icons.tsx";
import { Modal } from "../components/Modal.tsx";
import { useChat, useModels, useSettings, useUi } from "../stores/stores.tsx";

interface Form {
  /** "" for the default model. */
  model: string;
  systemPrompt: string;
  temperature: number;
  topP: number;
  repetitionPenalty: number;
  maxTokens: number;
}

const FALLBACK: Form = {
  model: "",
  systemPrompt: "",
  temperature: 0.7,
  topP: 0.9,
  repetitionPenalty: 1.2,
  maxTokens: 512,
};

function formOf(
  model: string | null | undefined,
  systemPrompt: string | undefined,
  sampling: Partial<Sampling> | undefined,
  base: Form,
): Form {
  return {
    model: model ?? base.model,
    systemPrompt: systemPrompt ?? base.systemPrompt,
    temperature: sampling?.temperature ?? base.temperature,
    topP: sampling?.topP ?? base.topP,
    repetitionPenalty: sampling?.repetitionPenalty ?? base.repetitionPenalty,
    maxTokens: sampling?.maxTokens ?? base.maxTokens,
  };
}

function NumberField({
  label,
  value,
  min,
  max,
  step,
  help,
  onChange,
}: {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  help: string;
  onChange(value: number): void;
}) {
  return (
    <label className="field range-field">
      <span>
        {label} <output>{value}</output>
      </span>
      <input
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        onChange={(e) => onChange(Number(e.target.value))}
      />
      <small>{help}</small>
    </label>
  );
}

/** Every model a conversation can use, grouped by where it runs. */
function ModelPicker({ value, onChange }: { value: string; onChange(value: string): void }) {
  const models = useModels((s) => s.models);
  const remote = useModels((s) => s.remote);
  const defaultModel = useModels((s) => s.defaultModel);
  const engines = [...new Set(remote.map((m) => m.engine))];
  const known = value === "" || models.some((m) => m.name === value) || remote.some((m) => m.name === value);
  return (
    <label className="field">
      <span>Model</span>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Default{defaultModel ? ` (${defaultModel})` : ""}</option>
        {models.length > 0 ? (
          <optgroup label="On this computer">
            {models.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </optgroup>
        ) : null}
        {engines.map((engine) => {
          const own = remote.filter((m) => m.engine === engine);
          return (
            <optgroup key={engine} label={`${engine} · sent to ${own[0]?.host ?? "its host"}`}>
              {own.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
            </optgroup>
          );
        })}
        {known ? null : <option value={value}>{value} (not available now)</option>}
      </select>
      <small>Models of a remote engine run on its host: what you send in this chat goes there.</small>
    </label>
  );
}

export function SettingsDrawer() {
  const open = useUi((s) => s.drawerOpen);
  const setOpen = useUi((s) => s.setDrawerOpen);
  const meta = useChat((s) => s.meta);
  const draftSettings = useChat((s) => s.draftSettings);
  const update = useChat((s) => s.updateSettings);
  const reset = useChat((s) => s.resetSettings);
  const defaults = useSettings((s) => s.settings);
  const base = formOf(null, defaults?.systemPrompt, defaults?.sampling, FALLBACK);
  const current = meta
    ? formOf(meta.settings.model, meta.settings.systemPrompt, meta.settings.sampling, base)
    : formOf(draftSettings.model, draftSettings.systemPrompt, draftSettings.sampling, base);
  const [form, setForm] = useState<Form>(current);
  const currentKey = JSON.stringify(current);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reload the form when the saved values change
  useEffect(() => {
    if (open) setForm(current);
  }, [open, currentKey]);

  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const save = (event: FormEvent) => {
    event.preventDefault();
    void update({
      model: form.model === "" ? null : form.model,
      systemPrompt: form.systemPrompt,
      sampling: {
        temperature: form.temperature,
        topP: form.topP,
        repetitionPenalty: form.repetitionPenalty,
        maxTokens: form.maxTokens,
      },
    });
    setOpen(false);
  };

  return (
    <Modal
      open={open}
      onOpenChange={setOpen}
      className="drawer"
      title="Conversation settings"
      description={meta ? `For “${meta.title}” only.` : "For the chat you are about to start."}
      header={
        <button
          type="button"
          className="icon-button"
          aria-label="Close settings"
          onClick={() => setOpen(false)}
        >
          <CloseIcon />
        </button>
      }
    >
      <form onSubmit={save} className="drawer-form">
        <ModelPicker value={form.model} onChange={(v) => set("model", v)} />
        <label className="field">
          <span>System prompt</span>
          <textarea
            rows={5}
            maxLength={8000}
            value={form.systemPrompt}
            placeholder="How the assistant should behave (optional)"
            onChange={(e) => set("systemPrompt", e.target.value)}
          />
        </label>
        <NumberField
          label="Temperature"
          value={form.temperature}
          min={0}
          max={2}
          step={0.05}
          help="0 always picks the likeliest word; higher is more varied."
          onChange={(v) => set("temperature", v)}
        />
        <NumberField
          label="Top-p"
          value={form.topP}
          min={0.05}
          max={1}
          step={0.05}
          help="Sample only from the likeliest words that make up this share."
          onChange={(v) => set("topP", v)}
        />
        <NumberField
          label="Repetition penalty"
          value={form.repetitionPenalty}
          min={1}
          max={2}
          step={0.05}
          help="OpenELM repeats itself without one; 1.2 is its authors' choice."
          onChange={(v) => set("repetitionPenalty", v)}
        />
        <NumberField
          label="Maximum reply length"
          value={form.maxTokens}
          min={16}
          max={1536}
          step={16}
          help="In tokens; kept free in the model's window for the reply."
          onChange={(v) => set("maxTokens", v)}
        />
        <div className="drawer-actions">
          <button
            type="button"
            className="button subtle"
            onClick={() => {
              void reset();
              setForm(base);
            }}
          >
            Reset to defaults
          </button>
          <button type="submit" className="button primary">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
