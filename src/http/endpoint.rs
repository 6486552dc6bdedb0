//! One resource with its methods; any other method gets a 405 problem naming the allowed
//! ones (actix alone would answer with an empty body, or fall through to 404).

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, Handler, HttpResponse, Resource, Responder, web};

use crate::error::AppError;

pub struct Endpoint {
    resource: Resource,
    allowed: Vec<Method>,
    /// Its POST creates something: `Idempotency-Key` applies.
    creates: bool,
}

impl Endpoint {
    pub fn new(path: &str) -> Self {
        Self {
            resource: web::resource(path),
            allowed: Vec::new(),
            creates: false,
        }
    }

    /// Data (such as a larger body limit) for this resource only.
    pub fn app_data<U: 'static>(mut self, data: U) -> Self {
        self.resource = self.resource.app_data(data);
        self
    }

    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::GET, handler)
    }

    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::POST, handler)
    }

    /// A POST that creates something (answers 201): a retry with the same
    /// `Idempotency-Key` gets the first answer (see `http::idempotency`).
    pub fn post_creating<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.creates = true;
        self.method(Method::POST, handler)
    }

    pub fn put<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::PUT, handler)
    }

    pub fn patch<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::PATCH, handler)
    }

    pub fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::DELETE, handler)
    }

    fn method<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::method(method.clone()).to(handler));
        self.allowed.push(method);
        self
    }
}

impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        let allowed = self.allowed;
        let resource = self.resource.default_service(web::to(move || {
            let allowed = allowed.clone();
            async move { Err::<HttpResponse, _>(AppError::MethodNotAllowed { allowed }) }
        }));
        if self.creates {
            resource
                .wrap(from_fn(super::idempotency::idempotent))
                .register(config);
        } else {
            resource.register(config);
        }
    }
}
