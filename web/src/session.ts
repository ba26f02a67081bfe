// Who is signed in and what their tier lets them do, for every component
// that offers an action a tier may lack. Without accounts (the single-user
// loopback service) everything is allowed.

import { createContext, useContext } from 'react';
import { PERMISSIONS } from './api';

export interface Session {
  email: string;
  userId: string;
  tier: string;
  permissions: string[];
}

export interface Access {
  session: Session | null;
  /** Why the action is not available, or null when it is. */
  denied: (permission: string) => string | null;
}

export function accessFor(session: Session | null): Access {
  return {
    session,
    denied: (permission) => {
      if (!session || session.permissions.includes('*') || session.permissions.includes(permission)) return null;
      const what = PERMISSIONS[permission] ?? permission;
      return `The ${session.tier} tier does not include ${what} (${permission})`;
    },
  };
}

export const AccessContext = createContext<Access>(accessFor(null));

export function useAccess(): Access {
  return useContext(AccessContext);
}
