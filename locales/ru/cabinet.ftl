# Messages of the bot in Russian. Arguments marked $ are filled in by the bot; text
# arguments are escaped for Telegram's HTML.

## Commands in Telegram's menu
cmd-start = Начать
cmd-balance = Баланс и операции
cmd-status = Где мой заказ
cmd-orders = Мои заказы
cmd-help = Что умеет бот
cmd-language = Язык / Language
cmd-privacy = Обработка данных
cmd-logout = Выйти из кабинета
cmd-forget = Удалить мои данные

## Onboarding and consent
consent-request =
    Здравствуйте! Я — ваш личный кабинет в Telegram: баланс, заказы и документы в пару касаний.

    Чтобы узнать вас, мне понадобится ваш номер телефона. Нажимая «Согласен», вы разрешаете обрабатывать номер телефона и переписку с ботом для обслуживания. Подробнее: <a href="{ $url }">условия обработки данных</a>.
consent-button = Согласен
consent-thanks = Спасибо! Теперь нажмите кнопку «Поделиться номером» внизу — так я найду ваш кабинет.
contact-button = Поделиться номером
onboarding-ask-contact = Чтобы продолжить, нажмите кнопку «Поделиться номером» внизу экрана.
contact-typed = Номер, набранный текстом, я принять не могу: нажмите кнопку «Поделиться номером» — так Telegram подтвердит, что номер ваш.
contact-not-own = Я могу принять только ваш собственный номер. Нажмите кнопку «Поделиться номером» внизу экрана.
contact-invalid = Не получилось прочитать этот номер. Нажмите кнопку «Поделиться номером» ещё раз.
contact-not-found = К сожалению, я не нашёл клиента с этим номером. Я передал ваш запрос специалисту — с вами свяжутся. Если вы клиент под другим номером, обратитесь в поддержку.
identified = Здравствуйте, { $name }! Я вас узнал.
already-bound = { $name }, вы уже вошли в кабинет.
menu-prompt = Чем могу помочь?
staff-new-lead = Новый запрос доступа: { $name }, телефон { $phone } (Telegram id { $user }). Клиент с этим номером не найден.

## Main menu
menu-balance = 💰 Баланс
menu-order-status = 📦 Где мой заказ
menu-order-history = 🧾 Мои заказы
menu-help = ❓ Помощь

## Small talk
greeting = Здравствуйте, { $name }! Чем помочь?
help =
    Я умею:
    • показать баланс, следующее списание и последние операции — «баланс»;
    • рассказать, где ваш заказ — «где мой заказ?» или «что с заказом 78234»;
    • показать историю заказов — «мои заказы».
    Команды: /balance, /status, /orders, /language, /privacy, /logout, /forget.
thanks-reply = Пожалуйста! Обращайтесь 🙂
unknown = Я не совсем понял. Попробуйте сказать иначе или выберите, что вас интересует:
operator = Похоже, я не могу помочь с этим сам. Служба поддержки отвечает ежедневно, { $hours } — напишите, что случилось, и специалист ответит в рабочее время.
not-yet = Этого я пока не умею в чате. Вот что доступно сейчас:
unsupported-content = Я понимаю текст и кнопки. Напишите, пожалуйста, словами, что вас интересует.
error-too-long = Сообщение слишком длинное. Напишите, пожалуйста, короче — в одном-двух предложениях.
error-unavailable = Система сейчас не отвечает. Попробуйте, пожалуйста, через минуту.
error-internal = Что-то пошло не так. Попробуйте, пожалуйста, ещё раз чуть позже.
button-inactive = Эта кнопка больше не активна.

## Privacy, language, logout
privacy =
    Я храню ваш номер телефона, привязку к Telegram, согласие на обработку данных и переписку с ботом (180 дней) — только для обслуживания. Полный текст условий (версия { $version }): { $url }

    Удалить эти данные: /forget. Выйти из кабинета: /logout.
forget-done = Готово: я удалил привязку к кабинету, согласие, состояние диалога и историю переписки. Данные в системах компании это не затрагивает. Чтобы начать заново, отправьте /start.
logout-done = Вы вышли из кабинета. Чтобы войти снова, отправьте /start.
logout-not-bound = Вы ещё не вошли в кабинет. Отправьте /start, чтобы начать.
language-choose = Выберите язык / Choose your language:
language-ru = Русский
language-en = English
language-switched = Готово, теперь я говорю по-русски.

## Balance
balance-title = 💰 Ваш баланс: <b>{ $balance }</b>
balance-next-charge = Следующее списание: { $amount } (тариф «{ $tariff }») { $date }.
balance-next-charge-no-tariff = Следующее списание: { $amount } { $date }.
balance-days-left = При текущем тарифе хватит примерно на { $days } { $days ->
        [one] день
        [few] дня
       *[many] дней
    }.
balance-bonus = Бонусные баллы: { $points }
balance-operations = Последние операции:
balance-operation = { $date } · { $amount } · { $title }
balance-top-up-button = Пополнить
balance-no-account = Я не нашёл лицевого счёта в вашем кабинете. Если это ошибка, обратитесь в поддержку.
bonuses = У вас { $points } { $points ->
        [one] бонусный балл
        [few] бонусных балла
       *[many] бонусных баллов
    }.
top-up-how = Пополнить счёт можно картой в приложении вашего банка или в офисе — укажите номер лицевого счёта <b>{ $account }</b>. Оплата в чате скоро появится.

## Orders
order-status-new = принят
order-status-assembling = собирается
order-status-in-transit = в пути
order-status-delivered = доставлен
order-status-cancelled = отменён
order-status-other = { $status }
order-card-title = 📦 <b>Заказ №{ $number }</b> от { $date } — { $status }
order-tracking = Трек-номер: { $tracking } ({ $carrier })
order-window = Доставка: { $window }
order-courier = Курьер: { $name }, { $phone }
order-delivered-at = Доставлен { $date }
order-map-button = 📍 Показать на карте
order-details-button = Подробнее
order-no-location = Местоположение курьера пока неизвестно.
order-not-found = Не нашёл такой заказ. Проверьте, пожалуйста, номер: { $number }.
orders-none-active = Активных заказов сейчас нет.
orders-none = У вас пока нет заказов.
orders-history-title = 🧾 Ваши заказы ({ $from }–{ $to } из { $total }):
orders-history-line = №{ $number } · { $date } · { $total } · { $status }
order-open-button = Заказ №{ $number }
page-previous = ‹ Назад
page-next = Дальше ›
orders-back-button = ‹ К списку заказов
order-items = Состав:
order-item = • { $name } × { $qty } — { $price }
order-total = Итого: <b>{ $total }</b>
order-address = Адрес доставки: { $address }

## "Did you mean…?"
clarify = Вы имели в виду…?
intent-balance = 💰 Баланс
intent-bonuses = 🎁 Бонусы
intent-top-up = 💳 Пополнить счёт
intent-order-status = 📦 Где мой заказ
intent-order-history = 🧾 Мои заказы
intent-repeat-order = 🔁 Повторить заказ
intent-documents = 📄 Документы
intent-booking = 📅 Записаться
intent-booking-list = 📅 Мои записи
intent-booking-reschedule = 🔄 Перенести запись
intent-booking-cancel = ✖️ Отменить запись
intent-subscription = ⚙️ Тариф и услуги
intent-offers = 🏷 Акции и скидки
intent-referral = 🤝 Пригласить друга
intent-notifications = 🔔 Уведомления
intent-operator = 🙋 Связаться с поддержкой
intent-privacy = 🔒 Мои данные
intent-language = 🌐 Язык
intent-help = ❓ Что умеет бот
intent-greeting = 👋 Поздороваться
intent-thanks = 🙏 Сказать спасибо
