//! `android.os`, laid out as android.os.permissions_aidl-rust's
//! `aidl::android::os`: of `IPermissionController` (served by
//! system_server as `permission`) only what memstatd asks, `checkPermission`,
//! the interface's first method.
#![allow(non_snake_case, missing_docs)]

/// `IPermissionController.aidl`.
pub mod IPermissionController {
    use binder::binder_impl::{
        Binder, BorrowedParcel, IBinderInternal, TransactionCode, FIRST_CALL_TRANSACTION,
        FLAG_PRIVATE_LOCAL,
    };
    use binder::{declare_binder_interface, Interface, Status, StatusCode};

    /// `android.os.IPermissionController`.
    pub trait IPermissionController: Interface + Send {
        fn checkPermission(&self, permission: &str, pid: i32, uid: i32) -> binder::Result<bool>;
    }

    declare_binder_interface! {
        IPermissionController["android.os.IPermissionController"] {
            native: BnPermissionController(serve_nothing),
            proxy: BpPermissionController,
        }
    }

    /// memstatd only asks: it serves no permission controller.
    fn serve_nothing(
        _: &dyn IPermissionController,
        _: TransactionCode,
        _: &BorrowedParcel<'_>,
        _: &mut BorrowedParcel<'_>,
    ) -> Result<(), StatusCode> {
        Err(StatusCode::UNKNOWN_TRANSACTION)
    }

    impl IPermissionController for Binder<BnPermissionController> {
        fn checkPermission(&self, permission: &str, pid: i32, uid: i32) -> binder::Result<bool> {
            self.0.checkPermission(permission, pid, uid)
        }
    }

    impl IPermissionController for BpPermissionController {
        fn checkPermission(&self, permission: &str, pid: i32, uid: i32) -> binder::Result<bool> {
            let mut data = self.binder.prepare_transact()?;
            data.write(permission)?;
            data.write(&pid)?;
            data.write(&uid)?;
            let reply =
                self.binder
                    .submit_transact(FIRST_CALL_TRANSACTION, data, FLAG_PRIVATE_LOCAL)?;
            let status: Status = reply.read()?;
            if !status.is_ok() {
                return Err(status);
            }
            Ok(reply.read()?)
        }
    }
}
