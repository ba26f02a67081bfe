import { useAccess } from '../session';

/** The signed-in user in the top bar: email, tier and sign out. Nothing without accounts. */
export default function AccountMenu({ onSignOut }: { onSignOut: () => void }) {
  const { session } = useAccess();
  if (!session) return null;
  return (
    <div className="account" data-testid="account">
      <span className="account-email" data-testid="account-email" title={session.userId}>
        {session.email}
      </span>
      <span className={`tier-pill tier-${session.tier}`} data-testid="account-tier" title={`Permissions: ${session.permissions.join(', ')}`}>
        {session.tier}
      </span>
      <button className="btn ghost small" onClick={onSignOut} data-testid="sign-out">
        Sign out
      </button>
    </div>
  );
}
