/**
 * UI state, in Svelte 5 runes. The app is the source of truth: everything here is either what a
 * call returned or what an event said, cached because a screen shows it, and replaced (never
 * patched by guesswork) when the app says it changed. What the user is looking at (the route) is
 * the only state the UI owns.
 */
import type {
  Contact,
  GroupSummary,
  Me,
  Message,
  NetworkStatus,
  ParleyApi,
  ParleyEvent,
  ParleyEventMap,
  ProfileStatus,
  Transfer,
} from '../../src-core/app/api.js';
import { AppError } from '../../src-core/app/errors.js';

export type Route =
  | { screen: 'chats' }
  | { screen: 'chat'; groupId: string }
  | { screen: 'group'; groupId: string }
  | { screen: 'contact'; userId: string }
  | { screen: 'contacts' }
  | { screen: 'devices' }
  | { screen: 'network' };

export interface OpenChat {
  groupId: string;
  messages: Message[];
  nextCursor: string | null;
  loading: boolean;
}

export type KeyChange = ParleyEventMap['contact.key_changed'];

const PAGE = 50;

export class AppState {
  profile = $state<ProfileStatus | null>(null);
  me = $state<Me | null>(null);
  groups = $state<GroupSummary[]>([]);
  contacts = $state<Contact[]>([]);
  network = $state<NetworkStatus | null>(null);
  chat = $state<OpenChat | null>(null);
  transfers = $state<Record<string, Transfer>>({});
  /** Details of key changes seen this session; which contacts are affected comes from the app. */
  keyChangeDetails = $state<Record<string, KeyChange>>({});
  route = $state<Route>({ screen: 'chats' });
  /** Bumped when a group's members, roles or rules change, so an open group screen reloads. */
  membershipVersion = $state<Record<string, number>>({});
  error = $state<string | null>(null);

  readonly unreadTotal = $derived(this.groups.reduce((n, g) => n + g.unread, 0));
  readonly keyChanged = $derived(this.contacts.filter((c) => c.verification === 'key_changed'));

  private unsubscribe: (() => void) | null = null;

  constructor(readonly api: ParleyApi) {}

  async start(): Promise<void> {
    this.unsubscribe = this.api.onEvent((e) => this.onEvent(e));
    this.profile = await this.api.profile.status();
    if (this.profile.state === 'unlocked') await this.loadUnlocked();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Runs a call for a screen, turning its failure into the banner text. */
  async run<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      this.error = null;
      return await work();
    } catch (error) {
      this.error = error instanceof AppError ? error.detail : 'something went wrong';
      if (error instanceof AppError && error.code === 'locked') await this.refreshProfile();
      return undefined;
    }
  }

  async refreshProfile(): Promise<void> {
    this.profile = await this.api.profile.status();
  }

  async loadUnlocked(): Promise<void> {
    const [me, groups, contacts, network] = await Promise.all([
      this.api.identity.me(),
      this.api.groups.list(),
      this.api.contacts.list(),
      this.api.network.status(),
    ]);
    this.me = me;
    this.groups = groups;
    this.contacts = contacts;
    this.network = network;
  }

  async afterUnlock(me: Me): Promise<void> {
    this.me = me;
    await this.refreshProfile();
    await this.loadUnlocked();
  }

  navigate(route: Route): void {
    this.route = route;
    this.error = null;
    if (route.screen === 'chat' && this.chat?.groupId !== route.groupId) {
      void this.openChat(route.groupId);
    }
  }

  group(groupId: string): GroupSummary | undefined {
    return this.groups.find((g) => g.groupId === groupId);
  }

  async openChat(groupId: string): Promise<void> {
    this.chat = { groupId, messages: [], nextCursor: null, loading: true };
    const page = await this.run(() => this.api.messages.history({ groupId, limit: PAGE }));
    if (!page || this.chat?.groupId !== groupId) return;
    this.chat = { groupId, messages: page.messages, nextCursor: page.nextCursor, loading: false };
    await this.markRead();
  }

  /** The page of history before the oldest message shown. */
  async loadOlder(): Promise<void> {
    const chat = this.chat;
    if (!chat || chat.loading || chat.nextCursor === null) return;
    chat.loading = true;
    const page = await this.run(() =>
      this.api.messages.history({ groupId: chat.groupId, before: chat.nextCursor!, limit: PAGE }),
    );
    chat.loading = false;
    if (!page || this.chat !== chat) return;
    chat.messages = [...page.messages, ...chat.messages];
    chat.nextCursor = page.nextCursor;
  }

  async markRead(): Promise<void> {
    const chat = this.chat;
    const last = chat?.messages.at(-1);
    if (!chat || !last || last.read) return;
    await this.run(() =>
      this.api.messages.markRead({ groupId: chat.groupId, upTo: last.messageId }),
    );
  }

  /** Puts a message the app returned or announced into the open chat, replacing an older copy. */
  private showMessage(m: Message): void {
    const chat = this.chat;
    if (!chat || chat.groupId !== m.groupId) return;
    const i = chat.messages.findIndex((x) => x.messageId === m.messageId);
    if (i === -1) chat.messages.push(m);
    else chat.messages[i] = m;
  }

  async send(text: string, replyTo: string | null): Promise<void> {
    const chat = this.chat;
    if (!chat) return;
    const m = await this.run(() =>
      replyTo === null
        ? this.api.messages.send({ groupId: chat.groupId, text })
        : this.api.messages.reply({ groupId: chat.groupId, replyTo, text }),
    );
    if (m) this.showMessage(m);
  }

  async edit(messageId: string, text: string): Promise<void> {
    const chat = this.chat;
    if (!chat) return;
    const m = await this.run(() =>
      this.api.messages.edit({ groupId: chat.groupId, messageId, text }),
    );
    if (m) this.showMessage(m);
  }

  async remove(messageId: string): Promise<void> {
    const chat = this.chat;
    if (!chat) return;
    await this.run(() => this.api.messages.delete({ groupId: chat.groupId, messageId }));
  }

  async react(messageId: string, emoji: string, on: boolean): Promise<void> {
    const chat = this.chat;
    if (!chat) return;
    const m = await this.run(() =>
      this.api.messages.react({ groupId: chat.groupId, messageId, emoji, on }),
    );
    if (m) this.showMessage(m);
  }

  private upsertGroup(g: GroupSummary): void {
    const i = this.groups.findIndex((x) => x.groupId === g.groupId);
    if (i === -1) this.groups.push(g);
    else this.groups[i] = g;
  }

  upsertContact(c: Contact): void {
    const i = this.contacts.findIndex((x) => x.userId === c.userId);
    if (i === -1) this.contacts.push(c);
    else this.contacts[i] = c;
  }

  private onEvent(e: ParleyEvent): void {
    switch (e.event) {
      case 'message.received':
      case 'message.edited':
        this.showMessage(e.data.message);
        if (e.event === 'message.received' && this.route.screen === 'chat') void this.markRead();
        return;
      case 'message.deleted':
      case 'message.reaction': {
        // The event names the message; its new form comes from the app, not from local edits.
        const chat = this.chat;
        if (chat?.groupId === e.data.groupId) void this.reloadMessage(e.data.messageId);
        return;
      }
      case 'group.changed':
        this.upsertGroup(e.data.group);
        return;
      case 'group.member_changed':
      case 'group.rules_changed':
        // Roles and rules are read again by an open group screen, like the members.
        this.membershipVersion[e.data.groupId] = (this.membershipVersion[e.data.groupId] ?? 0) + 1;
        return;
      case 'contact.changed':
        this.upsertContact(e.data.contact);
        // Invite codes work once, and no event says ours was spent. Someone redeeming it shows
        // up as contact changes (the first may come before the app marks the code used, the
        // introduction that follows comes after), so the code on screen is re-read on each.
        void this.run(async () => (this.me = await this.api.identity.me()));
        return;
      case 'contact.key_changed':
        this.keyChangeDetails[e.data.userId] = e.data;
        void this.run(async () => (this.contacts = await this.api.contacts.list()));
        return;
      case 'sync.progress':
        void this.run(async () => (this.network = await this.api.network.status()));
        return;
      case 'network.status':
        this.network = e.data.status;
        return;
      case 'attachment.progress':
        this.trackTransfer(e.data.transfer);
        return;
      case 'profile.locked':
        this.me = null;
        this.groups = [];
        this.contacts = [];
        this.chat = null;
        this.transfers = {};
        this.route = { screen: 'chats' };
        void this.refreshProfile();
        return;
    }
  }

  /**
   * Keeps a transfer's latest state; when a download finished, the messages carrying that
   * attachment are read again (their `complete` flag is the app's to set).
   */
  trackTransfer(t: Transfer): void {
    const before = this.transfers[t.transferId];
    this.transfers[t.transferId] = t;
    if (t.state !== 'done' || before?.state === 'done' || t.direction !== 'download') return;
    const chat = this.chat;
    if (!chat || chat.groupId !== t.groupId) return;
    for (const m of chat.messages) {
      if (m.attachment?.attachmentId === t.attachmentId) void this.reloadMessage(m.messageId);
    }
  }

  private async reloadMessage(messageId: string): Promise<void> {
    const chat = this.chat;
    if (!chat) return;
    const m = await this.run(() => this.api.messages.get({ groupId: chat.groupId, messageId }));
    if (m) this.showMessage(m);
  }
}
