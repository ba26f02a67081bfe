import { useEffect, type ReactNode } from 'react';

export default function Modal(props: { title: ReactNode; onClose: () => void; children: ReactNode; wide?: boolean; testId?: string; actions?: ReactNode }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && props.onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [props]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div className={`modal${props.wide ? ' wide' : ''}`} role="dialog" aria-modal="true" data-testid={props.testId}>
        <div className="modal-head">
          <div className="modal-title">{props.title}</div>
          {props.actions}
          <button className="icon-btn" onClick={props.onClose} aria-label="Close">
            ×
          </button>
        </div>
        <div className="modal-body">{props.children}</div>
      </div>
    </div>
  );
}
