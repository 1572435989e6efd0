/**
 * The messenger behind the app API: one object per profile, used by the UI (through rpc/), the
 * CLI and the tests. It owns the composition root (AppContext) and delegates each API group to
 * its service; services that need the unlocked profile join the session in the order built here
 * (identity first: others may show our invite or record).
 */
import type { ParleyApi, ParleyCalls, ParleyEvent, Unsubscribe } from './api.js';
import type { AppContextOptions } from './appContext.js';
import { AppContext } from './appContext.js';
import { createAttachmentsService } from './attachmentsService.js';
import { ContactsServiceImpl } from './contactsService.js';
import { DevicesServiceImpl } from './devicesService.js';
import { DeviceFanout } from './groups/deviceFanout.js';
import { createGroupsService } from './groupsService.js';
import { IdentityServiceImpl } from './identityService.js';
import { createMessagesService } from './messagesService.js';
import { NetworkServiceImpl } from './networkService.js';
import { ProfileServiceImpl } from './profileService.js';

export class ParleyApp implements ParleyApi {
  readonly context: AppContext;
  readonly profile: ParleyCalls['profile'];
  readonly identity: IdentityServiceImpl;
  readonly devices: DevicesServiceImpl;
  readonly contacts: ContactsServiceImpl;
  readonly groups: ParleyCalls['groups'];
  readonly messages: ParleyCalls['messages'];
  readonly attachments: ParleyCalls['attachments'];
  readonly network: NetworkServiceImpl;

  constructor(options: AppContextOptions) {
    const ctx = new AppContext(options);
    this.context = ctx;
    this.identity = new IdentityServiceImpl(ctx);
    this.profile = new ProfileServiceImpl(ctx, () => this.identity.me());
    this.contacts = new ContactsServiceImpl(ctx);
    this.devices = new DevicesServiceImpl(ctx, () => this.identity.me());
    this.network = new NetworkServiceImpl(ctx);
    this.groups = createGroupsService(ctx, {
      addContact: (code) => this.contacts.addByInviteCode({ code }),
    });
    this.messages = createMessagesService(ctx);
    this.attachments = createAttachmentsService(ctx);
    // After the groups: a user's devices in the user's groups (joins the session after the hub).
    DeviceFanout.of(ctx);
  }

  onEvent(listener: (e: ParleyEvent) => void): Unsubscribe {
    return this.context.events.on(listener);
  }

  /** Locks (if unlocked) for good: the node stops, the store closes, keys are wiped. */
  close(): Promise<void> {
    return this.context.serial(() => this.context.endSession('shutdown'));
  }
}
