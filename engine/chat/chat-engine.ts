/**
 * Sending, regenerating and editing: each checks the conversation fits the model's window before
 * anything is saved, saves the user's message, then writes the reply in the background, streaming it
 * as chat.token events. What has streamed is saved as a reply in progress at least every second, so
 * a crash keeps it (it comes back as an interrupted message). The finished (or stopped) reply is
 * saved in one transaction with its token ids and stats, then announced as chat.done; a reply that
 * produced nothing ends in chat.error.
 */
import type {
  ChatStarted,
  Conversation,
  ConversationSettingsPatch,
  EventPayload,
  Interruption,
  MessageStats,
  Sampling,
} from "../api/contract.ts";
import { toErrorInfo } from "../api/validate.ts";
import { ElmwoodError } from "../errors.ts";
import type { SamplingOptions } from "../runtime/sampler.ts";
import type { Generator, PreparedPrompt, PromptMessage, PromptModel } from "../service/generation.ts";
import type { ChatMessage } from "../text/chat-template.ts";
import { interruption, notBegun } from "./interruption.ts";
import { assertConversationFits } from "./prompt.ts";
import { type ConversationStore, newId, type StoredMessage } from "./store.ts";
import { ThrottledSave } from "./throttled-save.ts";
import type { TurnGrounding } from "./turn-grounding.ts";

/** The model a reply is written by: Elmwood's own, or a remote engine's (it takes messages). */
export type ReplyModel = PromptModel;

export interface ChatModels {
  /** The model to use (null: the default), without loading it; throws when there is none. */
  pick(name: string | null): Promise<ReplyModel>;
  /** The model loaded and ready; rejects with CANCELLED when `signal` fires first. */
  load(name: string, signal: AbortSignal): Promise<Generator>;
  /** The model if it is in memory now (null otherwise), without loading it. */
  ready(name: string): Generator | null;
}

type ChatEventName = "chat.token" | "chat.done" | "chat.error";
export type ChatEmit = <E extends ChatEventName>(event: E, payload: EventPayload<E>) => void;

export interface ChatDefaults {
  systemPrompt: string;
  sampling: Sampling;
}

interface Running {
  conversationId: string;
  controller: AbortController;
  done: Promise<void>;
  /** Why it was stopped when it was not the person's Stop (Elmwood closing). */
  reason?: Interruption;
}

export interface ChatEngineOptions {
  /** Who is writing replies ("<pid>:<instance>"), kept with each reply in progress. */
  owner: string;
  /** How often what has streamed is saved; default every second. */
  saveEveryMs?: number;
  /** Chat grounded in documents: gives the question passages of the conversation's documents. */
  grounding?: TurnGrounding;
}

/**
 * The messages a reply's prompt is made of: the system prompt, the branch (each reply this model's
 * family wrote carrying its ids, so the prompt extends the previous turn's tokens), and the new
 * user message, if any.
 */
function promptMessages(
  systemPrompt: string,
  history: readonly StoredMessage[],
  user: string | undefined,
  model: ReplyModel,
): PromptMessage[] {
  const messages: PromptMessage[] = [];
  if (systemPrompt.trim()) messages.push({ role: "system", content: systemPrompt });
  for (const m of history) {
    const own = m.role === "assistant" && m.template === model.family;
    messages.push({
      role: m.role,
      content: m.content,
      tokens: own ? m.tokens : null,
      // What the engine that wrote this reply counted, when it was this very model.
      measured:
        own && m.model === model.name && m.stats && !m.stats.estimated
          ? m.stats.promptTokens + m.stats.completionTokens
          : null,
    });
  }
  if (user !== undefined) messages.push({ role: "user", content: user });
  return messages;
}

export function toSamplingOptions(sampling: Sampling): SamplingOptions {
  const { temperature, topK, topP, minP, repetitionPenalty, seed } = sampling;
  return seed === undefined
    ? { temperature, topK, topP, minP, repetitionPenalty }
    : { temperature, topK, topP, minP, repetitionPenalty, seed };
}

export class ChatEngine {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly store: ConversationStore,
    private readonly models: ChatModels,
    private readonly emit: ChatEmit,
    private readonly defaults: () => ChatDefaults,
    private readonly options: ChatEngineOptions,
  ) {}

  /** Replies being written now. */
  get active(): number {
    return this.running.size;
  }

  create(title: string | undefined, patch: ConversationSettingsPatch = {}): Conversation {
    const defaults = this.defaults();
    const record = this.store.create({
      title,
      systemPrompt: patch.systemPrompt ?? defaults.systemPrompt,
      sampling: { ...defaults.sampling, ...patch.sampling },
      model: patch.model ?? null,
    });
    return this.store.view(record.id);
  }

  /** Changes a conversation's system prompt, sampling (merged over its own) or model. */
  updateSettings(conversationId: string, patch: ConversationSettingsPatch) {
    const current = this.store.get(conversationId);
    return this.store.updateSettings(conversationId, {
      systemPrompt: patch.systemPrompt,
      sampling: patch.sampling ? { ...current.sampling, ...patch.sampling } : undefined,
      model: patch.model,
    });
  }

  async send(input: {
    conversationId?: string;
    content: string;
    parentId?: string;
    settings?: ConversationSettingsPatch;
  }): Promise<ChatStarted> {
    let conversationId = input.conversationId;
    let created = false;
    if (conversationId === undefined) {
      conversationId = this.create(undefined, input.settings).id;
      created = true;
    }
    try {
      if (!created && input.settings) this.updateSettings(conversationId, input.settings);
      const conversation = this.store.get(conversationId);
      const parentId = input.parentId ?? conversation.activeLeafId;
      if (input.parentId !== undefined) this.store.message(conversationId, input.parentId);
      return await this.reply(conversationId, {
        history: this.store.path(conversationId, parentId),
        user: { content: input.content, parentId },
      });
    } catch (error) {
      // A conversation made for a message that could not be sent would be an empty ghost.
      if (created) this.store.delete(conversationId);
      throw error;
    }
  }

  /** A new version of a user message, beside the old one, and a reply to it. */
  async edit(conversationId: string, messageId: string, content: string): Promise<ChatStarted> {
    const original = this.store.message(conversationId, messageId);
    if (original.role !== "user") {
      throw new ElmwoodError(
        "BAD_INPUT",
        "Only your own messages can be edited.",
        "To get another reply, regenerate it instead.",
      );
    }
    return this.reply(conversationId, {
      history: this.store.path(conversationId, original.parentId),
      user: { content, parentId: original.parentId },
    });
  }

  /**
   * Another reply: beside an assistant message (which is kept as a sibling), or to a user message
   * whose reply failed.
   */
  async regenerate(conversationId: string, messageId: string): Promise<ChatStarted> {
    const target = this.store.message(conversationId, messageId);
    const answers = target.role === "assistant" ? target.parentId : target.id;
    if (answers === null || this.store.message(conversationId, answers).role !== "user") {
      throw new ElmwoodError(
        "BAD_INPUT",
        "That message does not answer a message of yours, so there is nothing to regenerate.",
        "Pick a reply, or send a new message.",
      );
    }
    return this.reply(conversationId, { history: this.store.path(conversationId, answers) });
  }

  /**
   * Lets the conversation's model read the message being typed before it is sent: the prompt the
   * send would make is run into the model's prefix cache, so the reply's first token waits only for
   * what was typed after the last prepare. Best effort and never in the way: it does nothing for a
   * remote model (a draft never leaves the machine), a model not in memory (typing does not load
   * one), a conversation with a reply being written, or a prompt that does not fit; the model runs
   * it only while idle and stops it for any request. In a conversation grounded in documents the
   * question is rewritten with passages when sent, so only the part before it is read ahead.
   */
  async prepare(input: { conversationId: string; content: string; parentId?: string }): Promise<boolean> {
    const conversation = this.store.get(input.conversationId);
    if (this.replying(input.conversationId)) return false;
    const parentId = input.parentId ?? conversation.activeLeafId;
    if (input.parentId !== undefined) this.store.message(input.conversationId, input.parentId);
    const model = await this.models.pick(conversation.model);
    if (model.remote) return false;
    const generator = this.models.ready(model.name);
    if (!generator?.prefill) return false;
    const grounded = this.options.grounding?.draws(input.conversationId) ?? false;
    const history = this.store.path(input.conversationId, parentId);
    const messages = promptMessages(conversation.systemPrompt, history, grounded ? "" : input.content, model);
    const prompt = model.prepare(messages);
    if (prompt.tokens >= model.contextLength) return false;
    return (await generator.prefill(prompt.prompt)) !== null;
  }

  /** Whether a reply is being written in this conversation now. */
  private replying(conversationId: string): boolean {
    for (const run of this.running.values()) if (run.conversationId === conversationId) return true;
    return false;
  }

  /** Stops one reply, or every reply in a conversation; true if one was running. */
  stop(target: { requestId?: string; conversationId?: string }): boolean {
    let stopped = false;
    for (const [id, run] of this.running) {
      if (id === target.requestId || run.conversationId === target.conversationId) {
        run.controller.abort();
        stopped = true;
      }
    }
    return stopped;
  }

  /** Stops every reply and waits until each has been saved (marked as cut short by the close) or reported. */
  async close(): Promise<void> {
    const all = [...this.running.values()];
    for (const run of all) {
      run.reason = interruption("quit");
      run.controller.abort();
    }
    await Promise.all(all.map((run) => run.done));
  }

  /**
   * Checks the prompt fits, saves the user's message (if any), and starts the reply. `history` is
   * the branch the reply continues, ending with the user message it answers when there is no new one.
   */
  private async reply(
    conversationId: string,
    turn: { history: StoredMessage[]; user?: { content: string; parentId: string | null } },
  ): Promise<ChatStarted> {
    if (this.replying(conversationId)) {
      throw new ElmwoodError(
        "BUSY",
        "A reply is already being written in this conversation.",
        "Wait for it to finish, or stop it first.",
      );
    }
    const conversation = this.store.get(conversationId);
    const model = await this.models.pick(conversation.model);
    const messages = promptMessages(conversation.systemPrompt, turn.history, turn.user?.content, model);
    const { sampling } = conversation;
    const requestId = newId();
    const assistantMessageId = newId();
    if (this.options.grounding) {
      // Only the prompt's copy of the question carries the passages; the message is saved as typed.
      const last = messages.length - 1;
      const withContent = (content: string) => messages.map((m, i) => (i === last ? { ...m, content } : m));
      const grounded = await this.options.grounding.ground({
        conversationId,
        replyId: assistantMessageId,
        question: messages[last].content,
        fits: (content) =>
          model.prepare(withContent(content)).tokens + sampling.maxTokens <= model.contextLength,
      });
      if (grounded !== null) messages.splice(0, messages.length, ...withContent(grounded));
    }
    const prompt = model.prepare(messages);
    const plain: ChatMessage[] = messages.map(({ role, content }) => ({ role, content }));
    assertConversationFits(plain, prompt, sampling.maxTokens, model);

    const userMessage = turn.user
      ? this.store.add(conversationId, { role: "user", ...turn.user })
      : turn.history[turn.history.length - 1];
    const controller = new AbortController();
    const done = this.write({
      requestId,
      conversationId,
      assistantMessageId,
      parentId: userMessage.id,
      model,
      prompt,
      sampling,
      signal: controller.signal,
    }).finally(() => this.running.delete(requestId));
    this.running.set(requestId, { conversationId, controller, done });
    return {
      requestId,
      conversationId,
      userMessage: this.store.wire(conversationId, userMessage.id),
      assistantMessageId,
    };
  }

  private async write(job: {
    requestId: string;
    conversationId: string;
    assistantMessageId: string;
    parentId: string;
    model: ReplyModel;
    prompt: PreparedPrompt;
    sampling: Sampling;
    signal: AbortSignal;
  }): Promise<void> {
    const { requestId, conversationId, assistantMessageId: messageId } = job;
    // Let the caller receive the ids before the first token event can arrive.
    await Promise.resolve();
    let text = "";
    const ids: number[] = [];
    let saver: ThrottledSave | undefined;
    try {
      this.store.beginReply({
        id: messageId,
        conversationId,
        parentId: job.parentId,
        model: job.model.name,
        template: job.model.family,
        owner: this.options.owner,
      });
      saver = new ThrottledSave(
        () => this.store.saveReply(messageId, text, ids),
        this.options.saveEveryMs ?? 1000,
      );
      const generator = await this.models.load(job.model.name, job.signal);
      const started = performance.now();
      let count = 0;
      const result = await generator.generate(
        {
          prompt: job.prompt.prompt,
          maxNewTokens: job.sampling.maxTokens,
          sampling: toSamplingOptions(job.sampling),
          stopStrings: job.prompt.stopStrings,
        },
        {
          signal: job.signal,
          onToken: (token) => {
            // A remote engine's pieces have no id of ours: each counts as a token, as it streams.
            if (token.id >= 0) ids.push(token.id);
            if (token.id >= 0 || token.text) count++;
            text += token.text;
            saver?.touch();
            this.emit("chat.token", {
              requestId,
              conversationId,
              messageId,
              delta: token.text,
              tokens: count,
            });
          },
        },
      );
      saver.cancel();
      const cutShort =
        result.finishReason === "cancelled"
          ? (result.interruption ?? this.running.get(requestId)?.reason ?? null)
          : null;
      if (result.completionTokens === 0 && result.text === "" && result.finishReason === "cancelled") {
        throw cutShort
          ? notBegun(cutShort)
          : new ElmwoodError("CANCELLED", "The reply was stopped before it began.");
      }
      const stats: MessageStats = {
        promptTokens: result.promptTokens,
        reusedTokens: result.reusedTokens,
        completionTokens: result.completionTokens,
        tokensPerSecond: result.tokensPerSecond,
        firstTokenMs: result.firstTokenMs,
        totalMs: performance.now() - started,
        finishReason: result.finishReason,
        ...(result.estimated ? { estimated: true } : {}),
      };
      // The message replaces the reply in progress in the same transaction.
      this.store.add(conversationId, {
        id: messageId,
        parentId: job.parentId,
        role: "assistant",
        content: result.text,
        model: job.model.name,
        template: job.model.family,
        // After a stop string the ids hold text the reply does not show; render that reply as text.
        // A remote engine's reply has no ids of ours: it is sent again as text.
        tokens: result.finishReason === "stop" || job.model.remote ? null : result.tokens,
        stats,
        interruption: cutShort,
      });
      this.emit("chat.done", {
        requestId,
        conversationId,
        message: this.store.wire(conversationId, messageId),
      });
    } catch (error) {
      saver?.cancel();
      try {
        this.store.dropReply(messageId);
      } catch {
        // The conversation was deleted meanwhile (its replies in progress went with it).
      }
      this.emit("chat.error", { requestId, conversationId, messageId, error: toErrorInfo(error) });
    }
  }
}
